/* bench.h - `dsp_demo bench`: each processing stage timed against its target. */
#ifndef DSP_BENCH_H
#define DSP_BENCH_H

/* argv[0] is "bench". Returns the exit status (0; 2 for unexpected arguments). */
int bench_main(int argc, char **argv);

#endif
