// jack_vector.cc - a C++ JACK client whose process callback grows a std::vector, for
// tests/integration/t_jack.sh.
//
//   jack_vector NAME
//
// Callbacks 1..CB_GROW each call grow(): a local std::vector<int> takes 8 push_backs
// (capacity 1, 2, 4, 8: 4 blocks of 4+8+16+32 = 60 bytes through operator new, and 4
// frees: 3 while growing, 1 when it goes out of scope). Outside the callback a vector
// of 1000 ints is reserved in main (one 4000-byte block). Runs until TOTAL callbacks,
// then prints "callbacks N".
#include <jack/jack.h>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <vector>

#define NOINLINE __attribute__((noinline))

static const int CB_GROW = 6;
static const int TOTAL = 30;
static volatile int callbacks;
static volatile size_t sink;

NOINLINE static void grow()
{
	std::vector<int> v;
	for (int i = 0; i < 8; i++)
		v.push_back(i);
	sink = v.size();
}

static int process(jack_nframes_t, void *)
{
	int n = callbacks + 1;
	if (n <= CB_GROW)
		grow();
	callbacks = n;
	return 0;
}

NOINLINE static void outside(std::vector<int> &v)
{
	v.reserve(1000);
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "apvector";
	jack_status_t st;
	jack_client_t *c = jack_client_open(name, JackNoStartServer, &st);
	if (!c)
		return 2;
	std::vector<int> big;
	outside(big);
	if (jack_set_process_callback(c, process, nullptr) || jack_activate(c))
		return 2;
	for (int i = 0; callbacks < TOTAL && i < 3000; i++)
		usleep(10000);
	jack_deactivate(c);
	jack_client_close(c);
	std::printf("callbacks %d\n", callbacks);
	return callbacks >= TOTAL ? 0 : 1;
}
