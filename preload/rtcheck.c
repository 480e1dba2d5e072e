/* rtcheck.c - placeholder: wrappers of real-time-unsafe calls (issue 3). */
#include "audio.h"
