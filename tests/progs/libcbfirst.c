/* libcbfirst.c - libcbcount.c counting only the callbacks, with no libc name of its own:
 * it goes before libaudioprof.so in LD_PRELOAD (t_real_plugins.sh). */
#define CBCOUNT_CALLBACKS_ONLY
#include "libcbcount.c"
