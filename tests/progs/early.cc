/* early.cc - allocations before main and after it (t_early.sh).
 *   early_site   malloc(555) from __attribute__((constructor(101)))  kept
 *   static_site  new char[666] from a C++ static object's constructor kept
 *   atexit_site  malloc(88) from an atexit() handler registered in main  kept
 *   dtor_site    malloc(99) from a destructor (may come after the profile: not checked)
 * Prints "early ok". */
#include <cstdio>
#include <cstdlib>
#include "progs.h"

static void *volatile e_keep, *volatile s_keep, *volatile a_keep, *volatile d_keep;

extern "C" {
NOINLINE void *early_site(void) { return std::malloc(555); }
NOINLINE void *static_site(void) { return new char[666]; }
NOINLINE void *atexit_site(void) { return std::malloc(88); }
NOINLINE void *dtor_site(void) { return std::malloc(99); }
}

__attribute__((constructor(101))) static void early_ctor(void)
{
	e_keep = early_site();
}

__attribute__((destructor)) static void late_dtor(void)
{
	d_keep = dtor_site();
}

struct Early {
	Early() { s_keep = static_site(); }
};
static Early early_object;

static void at_exit_handler(void)
{
	a_keep = atexit_site();
}

int main()
{
	PROG_CHECK(e_keep != nullptr, "constructor(101) did not run");
	PROG_CHECK(s_keep != nullptr, "static initializer did not run");
	std::atexit(at_exit_handler);
	std::printf("early ok\n");
	return 0;
}
