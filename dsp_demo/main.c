/* main.c - dsp_demo's command line: parse the options, load the input WAV, open the
 * backend, build the engine around its actual rate and period, run, and print the
 * one-line summary on stderr that tests and `make demo` read:
 *
 *   dsp_demo: backend=null rate=48000 period=512 cycles=94 frames=48128
 *     max_callback_ms=0.061 mean_callback_ms=0.035 deadline_ms=10.667 overruns=0
 *     xruns=0 inject=alloc every=10 spin_us=0 injected=9 missed=0 dropped=0 written=48128
 *     eq_updates=9 fft_runs=94 peak_hz=4031.2 sched=fifo        (all on one line)
 *
 * `dsp_demo bench` is in bench.c. Exit status: see enum exit_code. */
#include <errno.h>
#include <fftw3.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "bench.h"
#include "engine.h"
#include "fft.h"
#include "inject.h"
#include "wav.h"

#ifndef DSP_DEMO_VERSION
#define DSP_DEMO_VERSION "unknown"
#endif

enum exit_code {
	EXIT_OK = 0,                      /* ran to the end (or stopped by SIGINT/SIGTERM) */
	EXIT_FAILURE_RUN = 1,             /* the backend could not start or failed */
	EXIT_USAGE = 2,                   /* bad command line */
	EXIT_BAD_INPUT = 3,               /* bad input WAV, or the output cannot be written */
};

#define DEFAULT_RATE 48000
#define DEFAULT_PERIOD 512
#define DEFAULT_DURATION 5.0

static struct engine *volatile running;       /* for the signal handler */

static void usage(FILE *f)
{
	fputs("Usage: dsp_demo [--backend null|freewheel|jack|alsa] [--device NAME]\n"
	      "                [--rate HZ] [--period FRAMES] [--duration SECONDS]\n"
	      "                [--inject KIND[:EVERY_N_CYCLES] | --inject spin:US]\n"
	      "                [--input IN.wav] [--output OUT.wav]\n"
	      "       dsp_demo bench\n"
	      "       dsp_demo --help | --version\n"
	      "\n"
	      "A real-time stereo DSP workload for audioprof: a test signal (or IN.wav) through\n"
	      "an 8-band parametric EQ, a 2048-point FFT spectrum analyser and spectrum\n"
	      "smoothing, in an audio callback that allocates nothing and never blocks -\n"
	      "unless --inject puts a fault in. Prints a one-line summary on stderr at the end.\n"
	      "\n"
	      "Options:\n"
	      "  --backend B      null: paced in real time, no sound card (default);\n"
	      "                   freewheel: as fast as possible; jack: a JACK client;\n"
	      "                   alsa: writes to an ALSA PCM\n"
	      "  --device NAME    ALSA PCM (default \"default\"; \"null\" needs no card) or\n"
	      "                   JACK server name\n"
	      "  --rate HZ        sample rate, 8000..192000 (default 48000, or IN.wav's);\n"
	      "                   JACK uses the server's\n"
	      "  --period FRAMES  frames per cycle, 16..8192 (default 512); JACK uses the\n"
	      "                   server's, ALSA the nearest the device allows\n"
	      "  --duration SECS  seconds of audio to process (default 5, or IN.wav's length);\n"
	      "                   0 runs until SIGINT or SIGTERM\n"
	      "  --inject KIND[:N]  put one fault in the callback every N cycles (default 100):\n"
	      "                   alloc, free, lock, sleep, io, leak or overrun\n"
	      "  --inject spin:US busy-wait US microseconds (1..1000000) in every cycle:\n"
	      "                   a known slowdown, to test a comparison of timings\n"
	      "  --input IN.wav   process this file (16/24-bit PCM or 32-bit float, mono or\n"
	      "                   stereo; looped) instead of the test signal\n"
	      "  --output OUT.wav write the processed audio (16-bit, or float if IN.wav is)\n"
	      "  -h, --help       show this help\n"
	      "      --version    show the version\n"
	      "\n"
	      "Exit status: 0 done, 1 the backend failed, 2 usage error, 3 bad input WAV or\n"
	      "the output cannot be written.\n", f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("dsp_demo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'dsp_demo --help'.\n", stderr);
	return EXIT_USAGE;
}

static int parse_uint(const char *opt, const char *s, unsigned min, unsigned max,
		      unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max)
		return usage_error("%s: '%s' is not a whole number from %u to %u", opt, s, min, max);
	*out = (unsigned)v;
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	if (running != NULL)
		engine_request_stop(running);
}

static void print_summary(const struct backend *b, const struct engine_config *cfg,
			  const struct engine_stats *st)
{
	fprintf(stderr,
		"dsp_demo: backend=%s rate=%u period=%u cycles=%llu frames=%llu "
		"max_callback_ms=%.3f mean_callback_ms=%.3f deadline_ms=%.3f overruns=%llu "
		"xruns=%llu inject=%s every=%u spin_us=%u injected=%llu missed=%llu dropped=%llu "
		"written=%llu eq_updates=%llu fft_runs=%llu peak_hz=%.1f sched=%s\n",
		backend_name(b->kind), b->rate, b->period, (unsigned long long)st->cycles,
		(unsigned long long)st->frames, st->max_ns / 1e6,
		st->cycles ? st->total_ns / 1e6 / st->cycles : 0.0, 1e3 * b->period / b->rate,
		(unsigned long long)st->overruns, (unsigned long long)b->xruns,
		inject_name(cfg->inject), cfg->inject == INJECT_NONE ? 0 : cfg->inject_every,
		cfg->inject_spin_us,
		(unsigned long long)st->injected, (unsigned long long)st->inject_missed,
		(unsigned long long)st->dropped, (unsigned long long)st->written,
		(unsigned long long)st->eq_updates, (unsigned long long)st->fft_runs,
		st->peak_hz, b->sched);
}

int main(int argc, char **argv)
{
	enum { OPT_BACKEND = 256, OPT_DEVICE, OPT_RATE, OPT_PERIOD, OPT_DURATION, OPT_INJECT,
	       OPT_INPUT, OPT_OUTPUT, OPT_VERSION };
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "period", required_argument, NULL, OPT_PERIOD },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "inject", required_argument, NULL, OPT_INJECT },
		{ "input", required_argument, NULL, OPT_INPUT },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct backend b = { .kind = BACKEND_NULL, .rate = DEFAULT_RATE, .period = DEFAULT_PERIOD };
	struct engine_config cfg = {
		.duration = DEFAULT_DURATION, .out_format = WAV_PCM16, .inject = INJECT_NONE,
		.inject_every = INJECT_EVERY_DEFAULT, .fft_planner = DSP_FFT_PLANNER, .threads = 1,
	};
	int rate_given = 0, period_given = 0, duration_given = 0, c, rc;
	unsigned want_rate, want_period;
	const char *input = NULL;
	struct wav_data wav;
	struct engine *e = NULL;
	struct engine_stats st;
	struct sigaction sa;
	char err[512];

	if (argc > 1 && strcmp(argv[1], "bench") == 0)
		return bench_main(argc - 1, argv + 1);

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_BACKEND:
			if (backend_parse(optarg, &b.kind) != 0)
				return usage_error("--backend: unknown backend '%s' "
						   "(null, freewheel, jack or alsa)", optarg);
			break;
		case OPT_DEVICE:
			if (optarg[0] == '\0')
				return usage_error("--device: empty name");
			b.device = optarg;
			break;
		case OPT_RATE:
			if (parse_uint("--rate", optarg, 8000, 192000, &b.rate) != 0)
				return EXIT_USAGE;
			rate_given = 1;
			break;
		case OPT_PERIOD:
			if (parse_uint("--period", optarg, 16, 8192, &b.period) != 0)
				return EXIT_USAGE;
			period_given = 1;
			break;
		case OPT_DURATION: {
			char *end;

			errno = 0;
			cfg.duration = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || errno != 0 || !isfinite(cfg.duration) ||
			    cfg.duration < 0 || cfg.duration > 31536000.0)
				return usage_error("--duration: '%s' is not a number of seconds "
						   "from 0 to 31536000", optarg);
			duration_given = 1;
			break;
		}
		case OPT_INJECT:
			if (inject_parse(optarg, &cfg.inject, &cfg.inject_every, &cfg.inject_spin_us,
					 err, sizeof err) != 0)
				return usage_error("%s", err);
			break;
		case OPT_INPUT:
			input = optarg;
			break;
		case OPT_OUTPUT:
			if (optarg[0] == '\0')
				return usage_error("--output: empty file name");
			cfg.output = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case OPT_VERSION:
			printf("dsp_demo %s\n", DSP_DEMO_VERSION);
			return EXIT_OK;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		case '?':
		default:
			if (optopt != 0)
				return usage_error("unknown option '-%c'", optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (b.device != NULL && (b.kind == BACKEND_NULL || b.kind == BACKEND_FREEWHEEL))
		return usage_error("--device applies to --backend jack or alsa, not %s",
				   backend_name(b.kind));

	if (input != NULL) {
		if (wav_read(input, &wav, err, sizeof err) != 0) {
			fprintf(stderr, "dsp_demo: %s\n", err);
			return EXIT_BAD_INPUT;
		}
		cfg.input = &wav;
		if (wav.format == WAV_FLOAT32)
			cfg.out_format = WAV_FLOAT32;
		if (!rate_given)
			b.rate = wav.rate < 8000 ? 8000 : wav.rate > 192000 ? 192000 : wav.rate;
	}

	want_rate = b.rate;
	want_period = b.period;
	if (backend_open(&b, err, sizeof err) != 0) {
		fprintf(stderr, "dsp_demo: %s\n", err);
		backend_close(&b);
		rc = EXIT_FAILURE_RUN;
		goto out;
	}
	if (b.kind == BACKEND_JACK && ((rate_given && b.rate != want_rate) ||
				       (period_given && b.period != want_period)))
		fprintf(stderr, "dsp_demo: JACK runs at %u Hz with %u-frame periods; "
			"--rate/--period do not apply\n", b.rate, b.period);
	if (input != NULL && wav.rate != b.rate)
		fprintf(stderr, "dsp_demo: %s is %u Hz but the run is at %u Hz "
			"(no resampling: it plays at the wrong speed)\n", input, wav.rate, b.rate);
	if (input != NULL && !duration_given)
		cfg.duration = (double)wav.frames / b.rate;
	cfg.rate = b.rate;
	cfg.period = b.period;

	rc = engine_create(&e, &cfg, err, sizeof err);
	if (rc != 0) {
		fprintf(stderr, "dsp_demo: %s\n", err);
		backend_close(&b);
		goto out;
	}
	running = e;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = EXIT_OK;
	if (engine_start(e, err, sizeof err) != 0 || backend_run(&b, e, err, sizeof err) != 0) {
		fprintf(stderr, "dsp_demo: %s\n", err);
		rc = EXIT_FAILURE_RUN;
	}
	backend_close(&b);
	if (engine_finish(e, &st, err, sizeof err) != 0) {
		fprintf(stderr, "dsp_demo: %s\n", err);
		if (rc == EXIT_OK)
			rc = EXIT_BAD_INPUT;
	}
	running = NULL;
	print_summary(&b, &cfg, &st);
	engine_destroy(e);
out:
	if (input != NULL)
		wav_data_free(&wav);
	fftwf_cleanup();
	return rc;
}
