/* test_demangle.c - the Rust demanglers (legacy and v0) on names from rustc-demangle's
 * own tests and from rustc 1.63's output, malformed names (NULL, no crash), and the
 * C++ path without libstdc++ (libiberty). */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "demangle.h"
#include "suites.h"

static void expect(char *(*fn)(const char *), const char *in, const char *want)
{
	char *got = fn(in);
	if (want) {
		CU_ASSERT_PTR_NOT_NULL(got);
		if (got && strcmp(got, want) != 0) {
			fprintf(stderr, "\n  %s\n    got  %s\n    want %s\n", in, got, want);
			CU_FAIL("wrong demangling");
		}
	} else if (got) {
		fprintf(stderr, "\n  %s: got %s, want NULL\n", in, got);
		CU_FAIL("demangled a name it should refuse");
	}
	free(got);
}

static char *any(const char *s)
{
	return demangle_symbol(s, NULL);
}

static void test_legacy(void)
{
	expect(demangle_rust_legacy, "_ZN3foo17h05af221e174051e9E", "foo");
	expect(demangle_rust_legacy, "_ZN3foo3bar17h05af221e174051e9E", "foo::bar");
	expect(demangle_rust_legacy, "_ZN12test$RF$test4foob17h05af221e174051e9E", "test&test::foob");
	expect(demangle_rust_legacy, "_ZN13test$u20$test4foob17h05af221e174051e9E", "test test::foob");
	expect(demangle_rust_legacy, "_ZN12test$BP$test4foob17h05af221e174051e9E", "test*test::foob");
	expect(demangle_rust_legacy, "_ZN11test$C$test4foob17h05af221e174051e9E", "test,test::foob");
	expect(demangle_rust_legacy,
	       "_ZN71_$LT$Test$u20$$u2b$$u20$$u27$static$u20$as$u20$foo..Bar$LT$Test$GT$$GT$3bar17h930b740aa94f1d3aE",
	       "<Test + 'static as foo::Bar<Test>>::bar");
	/* rustc 1.63 (tests/progs/rust/inline.rs), with LLVM's suffix */
	expect(demangle_rust_legacy, "_ZN6inline3dsp14Voice$LT$T$GT$6render17h4b7430cb4441dbf8E",
	       "inline::dsp::Voice<T>::render");
	expect(demangle_rust_legacy,
	       "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h7e0ed7d9a450cee3E.llvm.11802374944655974387",
	       "std::rt::lang_start::{{closure}}");
	/* not Rust's (no hash: C++'s), or malformed */
	expect(demangle_rust_legacy, "_ZN4test1a2bcE", NULL);
	expect(demangle_rust_legacy, "_ZN3fooE", NULL);
	expect(demangle_rust_legacy, "_ZN99foo17h05af221e174051e9E", NULL);
	expect(demangle_rust_legacy, "_ZN3foo17h05af221e174051e9", NULL);
	expect(demangle_rust_legacy, "_ZN3f$xx$o17h05af221e174051e9E", NULL);
	expect(demangle_rust_legacy, "_ZN", NULL);
	expect(demangle_rust_legacy, "malloc", NULL);
}

static void test_v0(void)
{
	expect(demangle_rust_v0, "_RNvC6_123foo3bar", "123foo::bar");
	expect(demangle_rust_v0, "_RNvCs1234_7mycrate3foo", "mycrate::foo");
	expect(demangle_rust_v0, "_RNCNCNgCs6DXkGYLi8lr_2cc5spawn00B5_",
	       "cc::spawn::{closure#0}::{closure#0}");
	expect(demangle_rust_v0,
	       "_RINbNbCskIICzLVDPPb_5alloc5alloc8box_freeDINbNiB4_5boxed5FnBoxuEp6OutputuEL_ECs1iopQbuBiw2_3std",
	       "alloc::alloc::box_free::<dyn alloc::boxed::FnBox<(), Output = ()>>");
	/* rustc 1.63 -C symbol-mangling-version=v0 */
	expect(demangle_rust_v0,
	       "_RINvNtCs6IL9ONYDOZW_4core3ptr13drop_in_placeNtNtCsdyIG5SqMl5y_3std3env4ArgsECsuC8kgh1mDV_6inline",
	       "core::ptr::drop_in_place::<std::env::Args>");
	expect(demangle_rust_v0,
	       "_RNCINvNtCsdyIG5SqMl5y_3std2rt10lang_startuE0CsuC8kgh1mDV_6inline.llvm.5521602056664928141",
	       "std::rt::lang_start::<()>::{closure#0}");
	expect(demangle_rust_v0,
	       "_RINvNtNtCsdyIG5SqMl5y_3std10sys_common9backtrace28___rust_begin_short_backtraceFEuuECsuC8kgh1mDV_6inline",
	       "std::sys_common::backtrace::__rust_begin_short_backtrace::<fn(), ()>");
	/* types and constants in generic arguments; a shim; a type-position path */
	expect(demangle_rust_v0, "_RINvC3foo3barAhj4_E", "foo::bar::<[u8; 4]>");
	expect(demangle_rust_v0, "_RINvC3foo3barRShE", "foo::bar::<&[u8]>");
	expect(demangle_rust_v0, "_RINvC3foo3barKb1_E", "foo::bar::<true>");
	expect(demangle_rust_v0, "_RINvC3foo3barKanb_E", "foo::bar::<-11>");
	expect(demangle_rust_v0, "_RINvC3foo3barThEE", "foo::bar::<(u8,)>");
	expect(demangle_rust_v0, "_RINvC3foo3barTlmEE", "foo::bar::<(i32, u32)>");
	expect(demangle_rust_v0,
	       "_RINvNtCs6IL9ONYDOZW_4core3ptr13drop_in_placeNCINvNtCsdyIG5SqMl5y_3std2rt10lang_startuE0ECsuC8kgh1mDV_6inline",
	       "core::ptr::drop_in_place::<std::rt::lang_start<()>::{closure#0}>");
	/* malformed: truncated, a backref forward or to itself, runaway nesting */
	expect(demangle_rust_v0, "_RNvC6_123foo", NULL);
	expect(demangle_rust_v0, "_RNvC6_123foo3ba", NULL);
	expect(demangle_rust_v0, "_RB_", NULL);
	expect(demangle_rust_v0, "_RNvB0_3foo", NULL);
	expect(demangle_rust_v0, "_R", NULL);
	char deep[2 + 6 * 400 + 1] = "_R";
	for (int i = 0; i < 400; i++)
		strcat(deep, "IC3foo");
	expect(demangle_rust_v0, deep, NULL);
}

static void test_cxx_without_libstdcxx(void)
{
	/* no __cxa_demangle given: libiberty's, with parameters */
	expect(any, "_ZN3dsp6detail4RingIfLi2EE4growEm",
	       "dsp::detail::Ring<float, 2>::grow(unsigned long)");
	expect(any, "_Znwm", "operator new(unsigned long)");
	/* Rust first, even though legacy names look like C++ ones */
	expect(any, "_ZN3foo3bar17h05af221e174051e9E", "foo::bar");
	expect(any, "main", NULL);
	expect(any, "_Zbogus", NULL);
}

void suite_demangle(void)
{
	CU_pSuite s = CU_add_suite("demangle", NULL, NULL);
	CU_add_test(s, "Rust legacy", test_legacy);
	CU_add_test(s, "Rust v0", test_v0);
	CU_add_test(s, "C++ without libstdc++", test_cxx_without_libstdcxx);
}
