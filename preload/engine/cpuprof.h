/* cpuprof.h - sampling the stacks of real-time code on its own CPU time, with no
 * privileges: a CPU-time timer per thread (timer_create on the thread's CPU clock,
 * SIGEV_THREAD_ID) whose signal handler walks the interrupted stack with the
 * profiler's own walker (unwind.h) and counts it in a lock-free table of stacks; the
 * profile writer turns the table into "audioprof.cpu" (audioprof-json(5)).
 *
 * Threads: timers are made where a thread holds no lock of the program's
 * (runtime_thread_start) and started by the writer thread when the thread first enters
 * real-time code (cpuprof_arm asks, cpuprof_writer_tick starts); the
 * handler takes no lock, allocates nothing and makes no syscall. */
#ifndef AUDIOPROF_CPUPROF_H
#define AUDIOPROF_CPUPROF_H

#include <stddef.h>
#include <stdint.h>
#include "runtime.h"

enum cpuprof_mode { CPUPROF_RT, CPUPROF_ALL, CPUPROF_OFF };   /* AUDIOPROF_CPU's order */

/* The calling thread's timer: 0 none, 1 made (disarmed), 2 running. */
extern __thread int cpuprof_tstate TLS_IE;

/* From the constructor, after options: the table, and the handler of the signal. */
void cpuprof_init(void);
/* A thread holding no lock of the program's (runtime_thread_start): make its timer,
 * armed at once in mode "all". */
void cpuprof_thread_start(void);
/* Slow path of cpuprof_rt_entered: ask for the thread's timer to be started (no
 * syscall: the writer thread starts it, cpuprof_writer_tick). */
void cpuprof_arm(void);
/* On the writer thread, at least every CPUPROF_ARM_NS while sampling is on: start the
 * timers asked for. */
#define CPUPROF_ARM_NS 20000000u
void cpuprof_writer_tick(void);
/* The thread ends (its state's destructor): delete its timer. */
void cpuprof_thread_exit(void);
/* In a fork child (one thread): counts start afresh; the forking thread's timer,
 * which the child does not inherit, is made again if it had one. */
void cpuprof_after_fork(void);

/* Real-time code starts on this thread (a callback, a region, an RT thread): its
 * timer runs from now on. One TLS load after the first time. */
static inline void cpuprof_rt_entered(void)
{
	if (unlikely(cpuprof_tstate == 1))
		cpuprof_arm();
}

/* The sampler's signal, 0 when sampling is off. The program sees that signal's
 * disposition as it set it (runtime_sigaction hands it here): its handler runs for
 * every instance of the signal that is not the sampler's own. */
int cpuprof_signal(void);
struct sigaction;
int cpuprof_sigaction(const struct sigaction *act, struct sigaction *oldact);

/* ---- reading, for the profile writer ---- */
struct json_t;
/* A stack (ips[0] the interrupted instruction, then return addresses) as a new fs
 * array of frame-table indices. */
typedef struct json_t *(*cpuprof_fs_fn)(const uintptr_t *ips, unsigned n, void *arg);
/* Is sampling on (then the profile has "cpu")? */
int cpuprof_on(void);
/* The "cpu" object (PROFILE_CPU in common/profile_schema.h); NULL when out of memory. */
struct json_t *cpuprof_object(cpuprof_fs_fn fs, void *arg);
size_t cpuprof_footprint(void);

#ifdef AUDIOPROF_TESTING
/* Tests: an empty table of stacks of up to `frames` frames, as after cpuprof_init in
 * mode "rt" but with no signal handler (0 or -1); count one sample of src by hand, as
 * the handler does; the table's number of slots. */
int cpuprof_testing_table(unsigned frames);
void cpuprof_testing_record(int src, const uintptr_t *ips, unsigned n);
unsigned cpuprof_testing_slots(void);
#endif

#endif
