/* wav.c - RIFF/WAVE reading and writing (wav.h). The reader walks the chunk list, takes
 * "fmt " (PCM, IEEE float, or WAVE_FORMAT_EXTENSIBLE of either) and "data", and skips
 * everything else; every way a file can be wrong gets its own message. The writer
 * emits a canonical header (plus the "fact" chunk float data needs) and fixes the sizes
 * up on close. */
#include "wav.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FMT_PCM        0x0001
#define FMT_FLOAT      0x0003
#define FMT_EXTENSIBLE 0xFFFE

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; p[2] = (v >> 16) & 0xff; p[3] = v >> 24;
}

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = v & 0xff; p[1] = v >> 8;
}

static int fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(err, errlen, "%s: ", path);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---------------------------------------------------------------- reading */

int wav_read(const char *path, struct wav_data *out, char *err, size_t errlen)
{
	unsigned char hdr[12], ch[8], fmt[40];
	unsigned tag = 0, channels = 0, bits = 0, block = 0, rate = 0;
	int have_fmt = 0;
	long data_off = -1;
	uint64_t data_len = 0, file_len;
	unsigned char *raw = NULL;
	struct stat st;
	FILE *f;
	int rc = -1;

	memset(out, 0, sizeof *out);
	f = fopen(path, "rb");
	if (f == NULL)
		return fail(err, errlen, path, "cannot open: %s", strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fail(err, errlen, path, "not a regular file");
		goto out;
	}
	file_len = (uint64_t)st.st_size;
	if (fread(hdr, 1, 12, f) != 12 || memcmp(hdr, "RIFF", 4) != 0 ||
	    memcmp(hdr + 8, "WAVE", 4) != 0) {
		fail(err, errlen, path, "not a WAV file (no RIFF/WAVE header)");
		goto out;
	}
	/* Walk the chunks up to "data" (the samples are read after the loop). */
	for (;;) {
		uint32_t len;
		long pos;

		if (fread(ch, 1, 8, f) != 8) {
			fail(err, errlen, path, have_fmt ? "no \"data\" chunk" :
			     "no \"fmt \" chunk before the end of the file");
			goto out;
		}
		len = le32(ch + 4);
		pos = ftell(f);
		if (memcmp(ch, "fmt ", 4) == 0) {
			if (len < 16 || len > sizeof fmt) {
				fail(err, errlen, path, "bad \"fmt \" chunk size %u", len);
				goto out;
			}
			if (fread(fmt, 1, len, f) != len) {
				fail(err, errlen, path, "truncated \"fmt \" chunk");
				goto out;
			}
			tag = le16(fmt);
			channels = le16(fmt + 2);
			rate = le32(fmt + 4);
			block = le16(fmt + 12);
			bits = le16(fmt + 14);
			if (tag == FMT_EXTENSIBLE) {
				if (len < 40) {
					fail(err, errlen, path, "WAVE_FORMAT_EXTENSIBLE without a subformat");
					goto out;
				}
				tag = le16(fmt + 24);       /* first two bytes of the subformat GUID */
			}
			have_fmt = 1;
		} else if (memcmp(ch, "data", 4) == 0) {
			if (!have_fmt) {
				fail(err, errlen, path, "\"data\" chunk before the \"fmt \" chunk");
				goto out;
			}
			data_off = pos;
			data_len = len;
			/* 0 or 0xffffffff: a stream that never fixed its header up */
			if (data_len == 0 || data_len == 0xffffffffu ||
			    data_len > file_len - (uint64_t)pos)
				data_len = file_len - (uint64_t)pos;
			break;
		}
		if (fseek(f, pos + (long)len + (len & 1), SEEK_SET) != 0) {
			fail(err, errlen, path, "truncated chunk \"%.4s\"", (const char *)ch);
			goto out;
		}
	}
	if (tag != FMT_PCM && tag != FMT_FLOAT) {
		fail(err, errlen, path, "unsupported sample format 0x%04x (only PCM and IEEE float)", tag);
		goto out;
	}
	if (!((tag == FMT_PCM && (bits == 16 || bits == 24)) || (tag == FMT_FLOAT && bits == 32))) {
		fail(err, errlen, path, "unsupported %u-bit %s samples (16/24-bit PCM or 32-bit float)",
		     bits, tag == FMT_PCM ? "PCM" : "float");
		goto out;
	}
	if (channels != 1 && channels != 2) {
		fail(err, errlen, path, "%u channels: only mono and stereo are supported", channels);
		goto out;
	}
	if (rate < 1000 || rate > 768000) {
		fail(err, errlen, path, "implausible sample rate %u Hz", rate);
		goto out;
	}
	if (block != channels * (bits / 8)) {
		fail(err, errlen, path, "inconsistent block align %u for %u channels of %u bits",
		     block, channels, bits);
		goto out;
	}
	out->frames = data_len / block;
	if (out->frames == 0) {
		fail(err, errlen, path, "no samples (empty \"data\" chunk)");
		goto out;
	}
	out->rate = rate;
	out->channels = channels;
	out->bits = bits;
	out->format = tag == FMT_FLOAT ? WAV_FLOAT32 : WAV_PCM16;
	raw = malloc(out->frames * block);
	out->ch[0] = malloc(out->frames * sizeof(float));
	out->ch[1] = malloc(out->frames * sizeof(float));
	if (!raw || !out->ch[0] || !out->ch[1]) {
		fail(err, errlen, path, "out of memory for %zu frames", out->frames);
		goto out;
	}
	if (fseek(f, data_off, SEEK_SET) != 0 || fread(raw, block, out->frames, f) != out->frames) {
		fail(err, errlen, path, "cannot read the samples: %s",
		     ferror(f) ? strerror(errno) : "file truncated");
		goto out;
	}
	for (size_t i = 0; i < out->frames; i++) {
		for (unsigned c = 0; c < channels; c++) {
			const unsigned char *p = raw + i * block + c * (bits / 8);
			float v;

			if (tag == FMT_FLOAT) {
				uint32_t u = le32(p);

				memcpy(&v, &u, sizeof v);
				if (!isfinite(v))
					v = 0.0f;
			} else if (bits == 16) {
				v = (int16_t)le16(p) / 32768.0f;
			} else {
				int32_t s = (int32_t)((uint32_t)p[0] << 8 | (uint32_t)p[1] << 16 |
						      (uint32_t)p[2] << 24) >> 8;
				v = s / 8388608.0f;
			}
			out->ch[c][i] = v;
		}
		if (channels == 1)
			out->ch[1][i] = out->ch[0][i];
	}
	rc = 0;
out:
	free(raw);
	fclose(f);
	if (rc != 0)
		wav_data_free(out);
	return rc;
}

void wav_data_free(struct wav_data *w)
{
	free(w->ch[0]);
	free(w->ch[1]);
	memset(w, 0, sizeof *w);
}

/* ---------------------------------------------------------------- writing */

/* Header layout (little-endian):
 *   PCM16:  "RIFF" size "WAVE" | "fmt " 16 {1, ch, rate, byterate, align, 16} | "data" n
 *   FLOAT:  "RIFF" size "WAVE" | "fmt " 18 {3, ch, rate, byterate, align, 32, cb=0} |
 *           "fact" 4 {frames} | "data" n */
static size_t header(unsigned char *h, const struct wav_writer *w, uint64_t frames)
{
	unsigned bytes = w->format == WAV_FLOAT32 ? 4 : 2;
	uint64_t data = frames * w->channels * bytes;
	size_t n;

	if (data > 0xffffffffu - 80)      /* RIFF's 4 GiB limit: clamp, the samples stay */
		data = (0xffffffffu - 80) / (w->channels * bytes) * (w->channels * bytes);
	memcpy(h, "RIFF", 4);
	memcpy(h + 8, "WAVE", 4);
	memcpy(h + 12, "fmt ", 4);
	put16(h + 20, (uint16_t)w->format);
	put16(h + 22, (uint16_t)w->channels);
	put32(h + 24, w->rate);
	put32(h + 28, w->rate * w->channels * bytes);
	put16(h + 32, (uint16_t)(w->channels * bytes));
	put16(h + 34, (uint16_t)(bytes * 8));
	if (w->format == WAV_FLOAT32) {
		put32(h + 16, 18);
		put16(h + 36, 0);
		memcpy(h + 38, "fact", 4);
		put32(h + 42, 4);
		put32(h + 46, (uint32_t)(data / (w->channels * bytes)));
		n = 50;
	} else {
		put32(h + 16, 16);
		n = 36;
	}
	memcpy(h + n, "data", 4);
	put32(h + n + 4, (uint32_t)data);
	n += 8;
	put32(h + 4, (uint32_t)(n - 8 + data));
	return n;
}

int wav_writer_open(struct wav_writer *w, const char *path, unsigned rate,
		    unsigned channels, enum wav_format format, char *err, size_t errlen)
{
	unsigned char h[64];
	size_t n;

	memset(w, 0, sizeof *w);
	w->format = format;
	w->rate = rate;
	w->channels = channels;
	w->f = fopen(path, "wb");
	if (w->f == NULL)
		return fail(err, errlen, path, "cannot create: %s", strerror(errno));
	n = header(h, w, 0);
	if (fwrite(h, 1, n, w->f) != n) {
		fail(err, errlen, path, "cannot write: %s", strerror(errno));
		fclose(w->f);
		w->f = NULL;
		return -1;
	}
	return 0;
}

int wav_writer_write(struct wav_writer *w, float *const ch[], size_t frames)
{
	unsigned bytes = w->format == WAV_FLOAT32 ? 4 : 2;
	size_t need = frames * w->channels * bytes;

	if (w->failed)
		return -1;
	if (frames > w->buf_frames) {
		unsigned char *b = realloc(w->buf, need);

		if (b == NULL) {
			w->failed = 1;
			w->err_no = ENOMEM;
			return -1;
		}
		w->buf = b;
		w->buf_frames = frames;
	}
	for (size_t i = 0; i < frames; i++) {
		for (unsigned c = 0; c < w->channels; c++) {
			unsigned char *p = w->buf + (i * w->channels + c) * bytes;
			float v = ch[c][i];

			if (w->format == WAV_FLOAT32) {
				uint32_t u;

				memcpy(&u, &v, sizeof u);
				put32(p, u);
			} else {
				long s = lrintf(v * 32768.0f);

				if (s > 32767)
					s = 32767;
				if (s < -32768)
					s = -32768;
				put16(p, (uint16_t)(int16_t)s);
			}
		}
	}
	if (fwrite(w->buf, 1, need, w->f) != need) {
		w->failed = 1;
		w->err_no = errno ? errno : EIO;
		return -1;
	}
	w->frames += frames;
	return 0;
}

int wav_writer_close(struct wav_writer *w, char *err, size_t errlen)
{
	unsigned char h[64];
	size_t n;
	int rc = 0;

	if (w->f == NULL)
		return 0;
	n = header(h, w, w->frames);
	if (!w->failed && (fseek(w->f, 0, SEEK_SET) != 0 || fwrite(h, 1, n, w->f) != n)) {
		w->failed = 1;
		w->err_no = errno ? errno : EIO;
	}
	if (fclose(w->f) != 0 && !w->failed) {
		w->failed = 1;
		w->err_no = errno ? errno : EIO;
	}
	w->f = NULL;
	if (w->failed) {
		snprintf(err, errlen, "cannot write the output WAV: %s", strerror(w->err_no));
		rc = -1;
	}
	free(w->buf);
	w->buf = NULL;
	return rc;
}
