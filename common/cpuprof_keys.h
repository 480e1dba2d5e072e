/* cpuprof_keys.h - the JSON keys of the CPU-sample fields ("audioprof.cpu"), named in
 * one place for their writer (preload/cpuprof.c) and their reader (analyzer/
 * profile_json.c, read_cpu). audioprof-json(5) documents them. */
#ifndef AUDIOPROF_CPUPROF_KEYS_H
#define AUDIOPROF_CPUPROF_KEYS_H

#define CPK_OBJECT      "cpu"          /* in "audioprof": the object below */
#define CPK_MODE        "mode"         /* "rt" or "all" (AUDIOPROF_CPU) */
#define CPK_RATE        "rate_hz"      /* samples per second of a thread's CPU time */
#define CPK_SIGNAL      "signal"       /* the signal number the sampler uses */
#define CPK_THREADS     "threads"      /* threads whose sampling timer ran */
#define CPK_SAMPLES     "samples"      /* samples recorded (in "stacks") */
#define CPK_OUTSIDE     "outside_rt"   /* samples dropped: the thread was not in real-time code */
#define CPK_LOST        "lost"         /* samples the stack table had no room for */
#define CPK_OVERRUNS    "overruns"     /* timer expirations merged into one signal */
#define CPK_TRUNCATED   "truncated"    /* samples whose stack walk stopped early */
#define CPK_HANDLER_NS  "handler_ns"   /* time spent in the sampler's handler, all samples */
#define CPK_SOURCES     "callbacks"    /* per source: */
#define CPK_CALLBACK    "callback"     /*   index into audioprof.callbacks; -1 none */
#define CPK_IN_PROFILER "in_profiler"  /*   samples that landed in the profiler's own code */
#define CPK_STACKS      "stacks"       /* per distinct stack: callback, count, fs */
#define CPK_COUNT       "count"
#define CPK_FS          "fs"

#endif
