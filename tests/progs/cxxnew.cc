/* cxxnew.cc - every form of C++ new/delete at its own site, with exact sizes
 * (checked by t_alloc_funcs.sh). Site functions are extern "C" so their frame names
 * do not depend on demangling. libstdc++ routes plain new to malloc and aligned new
 * to aligned_alloc, so a site's frames read: malloc|aligned_alloc, operator new..., site.
 *
 *  site            expression                             tb    tbk  kept
 *  n_scalar        new Obj            (24 B)              24    1    no  (delete)
 *  n_array         new int[25]                            100   1    no  (delete[])
 *  n_array_dtor    new WithDtor[4]    (4 x 16 + 8 cookie) 72    1    no  (delete[])
 *  n_aligned       new Al64           (alignas 64, 128 B) 128   1    no  (aligned delete)
 *  n_aligned_arr   new Al64[3]                            384   1    no  (aligned delete[])
 *  n_nothrow       new (nothrow) Obj                      24    1    no
 *  n_nothrow_arr   new (nothrow) char[33]                 33    1    no
 *  n_nothrow_al    new (nothrow) Al64                     128   1    no
 *  n_opnew         ::operator new(40), sized delete        40    1    no  (operator delete(p, 40))
 *  n_keep          new char[77]                           77    1    yes
 *  v_site          std::vector<int> v(1000)               4000  1    no
 */
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>
#include <malloc.h>
#include "progs.h"

struct Obj { long a, b, c; };
struct WithDtor { long x, y; ~WithDtor() { x = 0; } };
struct alignas(64) Al64 { char b[100]; };

static_assert(sizeof(Obj) == 24, "Obj size");
static_assert(sizeof(WithDtor) == 16, "WithDtor size");
static_assert(sizeof(Al64) == 128, "Al64 size");

static void *volatile keep;

static void check_aligned(void *p, std::size_t a, const char *what)
{
	PROG_CHECK(p != nullptr, what);
	PROG_CHECK(((std::uintptr_t)p & (a - 1)) == 0, what);
	std::size_t us = malloc_usable_size(p);
	(void)us;
}

extern "C" {
NOINLINE Obj *n_scalar(void) { return new Obj(); }
NOINLINE int *n_array(void) { return new int[25]; }
NOINLINE WithDtor *n_array_dtor(void) { return new WithDtor[4]; }
NOINLINE Al64 *n_aligned(void) { return new Al64(); }
NOINLINE Al64 *n_aligned_arr(void) { return new Al64[3]; }
NOINLINE Obj *n_nothrow(void) { return new (std::nothrow) Obj(); }
NOINLINE char *n_nothrow_arr(void) { return new (std::nothrow) char[33]; }
NOINLINE Al64 *n_nothrow_al(void) { return new (std::nothrow) Al64(); }
NOINLINE void *n_opnew(void) { return ::operator new(40); }
NOINLINE char *n_keep(void) { return new char[77]; }
NOINLINE std::size_t v_site(void)
{
	std::vector<int> v(1000);
	v[999] = 7;
	return v.size() + (std::size_t)v[999];
}
}

int main()
{
	Obj *o = n_scalar();
	PROG_CHECK(o != nullptr && o->a == 0, "new Obj");
	delete o;

	int *ia = n_array();
	std::memset(ia, 1, 25 * sizeof(int));
	delete[] ia;

	WithDtor *wd = n_array_dtor();
	wd[3].y = 3;
	delete[] wd;

	Al64 *al = n_aligned();
	check_aligned(al, 64, "aligned new not 64-aligned");
	delete al;

	Al64 *ala = n_aligned_arr();
	check_aligned(ala, 64, "aligned new[] not 64-aligned");
	std::memset(ala, 2, 3 * sizeof(Al64));
	delete[] ala;

	Obj *on = n_nothrow();
	PROG_CHECK(on != nullptr, "nothrow new");
	delete on;

	char *ca = n_nothrow_arr();
	PROG_CHECK(ca != nullptr, "nothrow new[]");
	delete[] ca;

	Al64 *aln = n_nothrow_al();
	check_aligned(aln, 64, "nothrow aligned new not 64-aligned");
	delete aln;

	void *raw = n_opnew();
	PROG_CHECK(raw != nullptr, "operator new(40)");
	std::memset(raw, 3, 40);
	::operator delete(raw, (std::size_t)40);

	keep = n_keep();

	PROG_CHECK(v_site() == 1007, "vector");

	std::printf("cxxnew ok\n");
	return 0;
}
