/* audio_sdl.c - placeholder: the sdl entry points are interposed here (issue 3). */
#include "audio.h"

const struct ap_hook hooks_sdl[] = { { NULL, NULL, NULL } };
