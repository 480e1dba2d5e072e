/* wav.h - reading and writing RIFF/WAVE files for dsp_demo: 16-bit (and 24-bit) PCM
 * and 32-bit float, mono or stereo. Reading loads the whole file into planar floats at
 * start-up; writing is done by the writer thread, never by the callback. */
#ifndef DSP_WAV_H
#define DSP_WAV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum wav_format {
	WAV_PCM16 = 1,                    /* 16-bit signed integer PCM */
	WAV_FLOAT32 = 3,                  /* 32-bit IEEE float */
};

struct wav_data {
	unsigned rate;                    /* frames per second */
	unsigned channels;                /* in the file: 1 or 2 */
	unsigned bits;                    /* in the file: 16, 24 or 32 */
	enum wav_format format;           /* in the file (24-bit reads as PCM) */
	size_t frames;                    /* frames per channel */
	float *ch[2];                     /* planar samples; a mono file fills both */
};

/* Read path into out. 0 on success; -1 with a message naming what is wrong in err. */
int wav_read(const char *path, struct wav_data *out, char *err, size_t errlen);
void wav_data_free(struct wav_data *w);

struct wav_writer {
	FILE *f;
	enum wav_format format;
	unsigned rate, channels;
	uint64_t frames;                  /* frames written so far */
	int failed;                       /* an I/O error happened (errno saved in err_no) */
	int err_no;
	unsigned char *buf;               /* conversion buffer */
	size_t buf_frames;
};

/* Create path (truncating) with a header whose sizes are fixed up by wav_writer_close.
 * 0 on success; -1 with a message in err. */
int wav_writer_open(struct wav_writer *w, const char *path, unsigned rate,
		    unsigned channels, enum wav_format format, char *err, size_t errlen);
/* Append frames from planar channels ch[0..channels-1]; -1 after an I/O error. */
int wav_writer_write(struct wav_writer *w, float *const ch[], size_t frames);
/* Fix the sizes up and close. 0 on success; -1 with a message in err. */
int wav_writer_close(struct wav_writer *w, char *err, size_t errlen);

#endif
