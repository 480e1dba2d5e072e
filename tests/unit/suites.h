/* suites.h - one CUnit suite per engine module; run_unit.c registers them all. */
#ifndef AUDIOPROF_TEST_SUITES_H
#define AUDIOPROF_TEST_SUITES_H
void suite_options(void);
void suite_sites(void);
void suite_blocks(void);
void suite_stacks(void);
void suite_unwind(void);
void suite_symbols(void);
void suite_profile(void);
void suite_symcache(void);
void suite_demangle(void);
void suite_glob(void);
void suite_fds(void);
void suite_audio(void);
void suite_timeline(void);
void suite_cpuprof(void);
void suite_atomicfile(void);
void suite_outpath(void);
void suite_suppress(void);   /* analyzer/suppress.c */
void suite_stats(void);      /* analyzer/stats.c */
void suite_rules(void);      /* analyzer/rules.c */
void suite_baseline(void);   /* analyzer/baseline.c */
#endif
