"""cbcount.py - reads the counts of tests/progs/libcbcount.c (the matrix tests' own
counting wrapper, listed after libaudioprof.so in LD_PRELOAD) for the real-program tests.

    from cbcount import Counts
    c = Counts(path)
    c.callbacks                  # JACK process callbacks the program's function ran
    c.calls("free", "libsord")   # free() calls inside them whose caller's file starts so
    c.own()                      # calls the profiler's own code made there (must be none)
    for m in c.alsa_cycles():    # ALSA (the wrapper alone): its log replayed by the model
        m.count, m.discarded, m.frames, m.deadline_ns(), m.calls("free")

ALSA: the wrapper logs the PCM calls and the counted calls between them; AlsaModel
replays that log by the cycle model of libaudioprof(7), "ALSA" (what begins, ends,
holds and discards a cycle; the deadline from the frames of the write ending the last
counted cycle), independently of preload/entry/audio_alsa.c. Not modelled: async handlers,
and a source made at a PCM's first write when hw_params was not seen (its period then
comes from snd_pcm_hw_params_current: the log has no frames for it).

Where a call's caller lands: the profiler's wrappers of free and pthread_mutex_lock end in
a tail call, so those keep the program's caller (its library's file); its allocation
wrappers record and then call on, so the program's allocations come from "own" (the
profiler's file). Work of the profiler's own on the audio thread would come from
libunwind, libdw, libelf, and from libc for the libc functions it calls itself.
"""

PROFILER_FILES = ("libunwind", "libdw", "libelf", "libjansson")


class Counts:
    def __init__(self, path):
        self.callbacks = self.frames = 0
        self.pa_writes = self.pa_bytes = 0
        self.alsa_writes = self.alsa_frames = 0
        self.pw_process = 0
        self.by = {}
        self.events = []      # ALSA: the wrapper's log, in order (see alsa_cycles)
        self.ev_lost = 0
        with open(path) as f:
            for line in f:
                w = line.split()
                if not w:
                    continue
                if w[0] == "callbacks":
                    self.callbacks += int(w[1]); self.frames += int(w[3])
                elif w[0] == "pa_writes":
                    self.pa_writes += int(w[1]); self.pa_bytes += int(w[3])
                elif w[0] == "pw_process":
                    self.pw_process += int(w[1])
                elif w[0] == "alsa_writes":
                    self.alsa_writes += int(w[1]); self.alsa_frames += int(w[3])
                elif w[0] == "ev" and w[3] == "call":
                    self.events.append((int(w[2]), "call", w[4], w[5]))
                elif w[0] == "ev" and w[3] == "pcm":
                    self.events.append((int(w[2]), w[4], w[5]) + tuple(int(x) for x in w[6:10]))
                elif w[0] == "ev_lost":
                    self.ev_lost += int(w[1])
                elif len(w) == 3:
                    k = (w[0], w[1])
                    self.by[k] = self.by.get(k, 0) + int(w[2])

    def calls(self, call, *files):
        """Calls of `call` whose caller's file starts with one of `files` (all if none),
        in callbacks."""
        return sum(n for (c, f), n in self.by.items()
                   if c == call and (not files or any(f.startswith(x) for x in files)))

    def own(self):
        """{(call, file): n} of the calls made by the profiler's unwinder and symbolizer."""
        return {k: n for k, n in self.by.items() if k[1].startswith(PROFILER_FILES)}

    def describe(self):
        return "callbacks=%d; " % self.callbacks + ", ".join(
            "%s<-%s x%d" % (c, f, n) for (c, f), n in sorted(self.by.items()) if n)

    def alsa_cycles(self):
        """Replays the wrapper's ALSA log by the cycle model of libaudioprof(7), "ALSA"
        (preload/entry/audio_alsa.c), and returns one Pcm per PCM that got a callback source
        (hw_params succeeded or it was written), in order of opening."""
        return AlsaModel(self.events).pcms


def _counter_add(d, k, n=1):
    d[k] = d.get(k, 0) + n


class Pcm:
    """One PCM's source as the model makes it."""
    def __init__(self, handle, mode):
        self.handle = handle
        self.nonblock = mode & 1          # SND_PCM_NONBLOCK
        self.src = False                  # has a callback source
        self.writer = 0                   # thread that writes (reads) it
        self.period = self.rate = self.buffer = 0
        self.last_io = 0
        self.closed = False
        self.frames = 0                   # the source's frames (deadline = frames / rate)
        self.count = 0                    # cycles counted
        self.discarded = 0                # cycles discarded (teardown)
        self.charged = {}                 # {(call, file): n} the profile keeps
        self.taken_back = {}              # {(call, file): n} in discarded cycles
        self.open_at_exit = 0             # cycles (or held ones) never ended

    def deadline_ns(self):
        return self.frames * 1000000000 // self.rate if self.rate else 0

    def calls(self, call, where="charged"):
        return sum(n for (c, f), n in getattr(self, where).items() if c == call)

    def describe(self, where="charged"):
        return ", ".join("%s<-%s x%d" % (c, f, n) for (c, f), n in sorted(getattr(self, where).items()))


class _Thread:
    def __init__(self):
        self.cur = None       # Pcm of the open cycle
        self.calls = {}       # its calls
        self.held = None      # (Pcm, calls, frames) of a held cycle
        self.last = None      # the PCM this thread last wrote, read or claimed


IO = ("snd_pcm_writei", "snd_pcm_writen", "snd_pcm_readi", "snd_pcm_readn",
      "snd_pcm_mmap_writei", "snd_pcm_mmap_writen", "snd_pcm_mmap_readi", "snd_pcm_mmap_readn")


class AlsaModel:
    def __init__(self, events):
        self.ents = {}        # handle -> newest Pcm
        self.pcms = []
        self.threads = {}
        for ev in events:
            tid = ev[0]
            t = self.threads.setdefault(tid, _Thread())
            if ev[1] == "call":
                if t.cur:
                    _counter_add(t.calls, (ev[2], ev[3]))
                continue
            name, handle, arg, res, x, y = ev[1:]
            getattr(self, "ev_" + name, self.ev_other)(t, tid, handle, arg, res, x, y, name)
        for t in self.threads.values():   # exit: open and held cycles keep their calls
            if t.cur:
                self.keep(t.cur, t.calls, False)
            if t.held:
                self.keep(t.held[0], t.held[1], False)

    def find(self, handle):
        e = self.ents.get(handle)
        return e if e and not e.closed else None

    def get(self, handle):
        return self.find(handle) or self.new(handle, 0)

    def new(self, handle, mode):
        e = Pcm(handle, mode)
        self.ents[handle] = e
        self.pcms.append(e)
        return e

    def make_src(self, e):
        if not e.src:
            e.src = True
            if e.period:
                e.frames = e.period

    # cycles
    def keep(self, e, calls, counted, frames=0):
        for k, n in calls.items():
            _counter_add(e.charged, k, n)
        if counted:
            e.count += 1
            if frames and e.rate:
                e.frames = frames
        else:
            e.open_at_exit += 1

    def begin(self, t, e):
        if t.cur or not e.src:
            return
        t.cur, t.calls = e, {}

    def commit_held(self, t):
        if t.held:
            self.keep(t.held[0], t.held[1], True, t.held[2])
            t.held = None

    def end(self, t, frames):
        e = t.cur
        if not e:
            return
        t.cur = None
        shorter = frames and frames < e.last_io
        if e.buffer and frames > e.buffer:
            frames = e.buffer
        self.commit_held(t)
        if shorter:
            t.held = (e, t.calls, frames)
        else:
            self.keep(e, t.calls, True, frames)

    def discard(self, t):
        e = t.cur
        if not e:
            return
        t.cur = None
        for k, n in t.calls.items():
            _counter_add(e.taken_back, k, n)
        e.discarded += 1
        if t.held:
            h = t.held[0]
            for k, n in t.held[1].items():
                _counter_add(h.taken_back, k, n)
            h.discarded += 1
            t.held = None

    def is_writer(self, tid, e):
        return e is not None and e.writer == tid and e.src

    def waiter_is_writer(self, t, tid, e):
        if self.is_writer(tid, e):
            return True
        if e is None or not e.src or e.writer:
            return False
        e.writer = tid
        t.last = e
        return True

    def avail_seen(self, t, tid, handle, avail):
        if t.cur and avail >= 0:
            return
        e = self.find(handle)
        if e and avail > 0 and self.is_writer(tid, e) and avail >= e.period:
            self.begin(t, e)

    # events
    def ev_other(self, t, tid, handle, arg, res, x, y, name):
        if name in IO or name == "snd_pcm_mmap_commit":
            self.end(t, arg)
            e = self.get(handle)
            e.writer = tid
            e.last_io = arg
            t.last = e
            self.make_src(e)
            if res >= 0 and name != "snd_pcm_mmap_commit" and not e.nonblock:
                self.begin(t, e)

    def ev_snd_pcm_open(self, t, tid, handle, arg, res, x, y, name):
        if res == 0:
            self.new(handle, arg)

    def ev_snd_pcm_nonblock(self, t, tid, handle, arg, res, x, y, name):
        if res == 0 and arg in (0, 1):
            self.get(handle).nonblock = arg

    def ev_snd_pcm_close(self, t, tid, handle, arg, res, x, y, name):
        e = self.find(handle)
        self.discard(t)
        if e:
            e.closed = True
            if t.last is e:
                t.last = None

    def ev_snd_pcm_drain(self, t, tid, handle, arg, res, x, y, name):
        self.discard(t)

    ev_snd_pcm_drop = ev_snd_pcm_drain

    def ev_snd_pcm_hw_params(self, t, tid, handle, arg, res, x, y, name):
        if res != 0:
            return
        e = self.get(handle)
        if x and y:
            e.period, e.rate, e.buffer = x, y, arg
            if e.src:
                e.frames = x
        self.make_src(e)

    def ev_snd_pcm_wait(self, t, tid, handle, arg, res, x, y, name):
        self.end(t, 0)
        e = self.find(handle)
        if res > 0 and self.waiter_is_writer(t, tid, e):
            self.begin(t, e)

    def ev_snd_pcm_poll_descriptors_revents(self, t, tid, handle, arg, res, x, y, name):
        if res == 0 and x and not t.cur:
            e = self.find(handle)
            if self.waiter_is_writer(t, tid, e):
                self.begin(t, e)

    def ev_snd_pcm_avail(self, t, tid, handle, arg, res, x, y, name):
        self.avail_seen(t, tid, handle, res)

    ev_snd_pcm_avail_update = ev_snd_pcm_avail

    def ev_snd_pcm_status(self, t, tid, handle, arg, res, x, y, name):
        if res == 0 and not t.cur:
            self.avail_seen(t, tid, handle, x)

    def ev_poll(self, t, tid, handle, arg, res, x, y, name):
        e = t.last
        if e and not t.cur and not e.closed and self.is_writer(tid, e):
            self.begin(t, e)
