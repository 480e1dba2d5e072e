// cxxstatic.cc - a C++ program that does not load libstdc++: built with
// -static-libstdc++ -static-libgcc (tests/Makefile), so the process has no
// __cxa_demangle the profiler could look up, yet its frames are templates in
// namespaces. It allocates with new[] in a member of a class template (GROW_LINE),
// called from a function template (CALL_LINE), three times.
#include <cstdio>
#include <cstring>

namespace dsp {
namespace detail {

template <typename T, int Channels>
class Ring {
public:
	~Ring() { delete[] buf_; }
	__attribute__((noinline)) void grow(unsigned long frames)
	{
		T *n = new T[frames * Channels]; // GROW_LINE
		delete[] buf_;
		buf_ = n;
		size_ = frames * Channels;
	}
	unsigned long size() const { return size_; }

private:
	T *buf_ = nullptr;
	unsigned long size_ = 0;
};

} // namespace detail

template <typename T>
__attribute__((noinline)) unsigned long prepare(detail::Ring<T, 2> &r, unsigned long frames)
{
	r.grow(frames); // CALL_LINE
	return r.size();
}

} // namespace dsp

int main()
{
	dsp::detail::Ring<float, 2> ring;
	unsigned long total = 0;
	for (unsigned long i = 1; i <= 3; i++)
		total += dsp::prepare(ring, 256 * i);
	std::printf("cxxstatic: grows=3 samples=%lu\n", total);
	return 0;
}
