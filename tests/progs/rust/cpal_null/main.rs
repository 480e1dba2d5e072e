// main.rs - a cpal output stream whose data callback makes exactly one heap allocation
// of SCRATCH bytes per call (a Vec, in the never-inlined scratch_in_callback) and
// counts its calls itself. After CALLBACKS data callbacks it prints its own counts and
// exits 0. The event loop runs on a thread of its own ("cpal-loop"), as in most cpal
// programs; main blocks joining it.
extern crate cpal;

use cpal::traits::{EventLoopTrait, HostTrait};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

const CALLBACKS: usize = 40;
const SCRATCH: usize = 3000;

static CALLS: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// One malloc(SCRATCH) and one free per call; volatile accesses keep it.
#[inline(never)]
fn scratch_in_callback(frames: usize) -> u8 {
    let mut v: Vec<u8> = Vec::with_capacity(SCRATCH);
    ALLOCS.fetch_add(1, Ordering::SeqCst);
    unsafe {
        let p = v.as_mut_ptr();
        std::ptr::write_volatile(p, frames as u8);
        std::ptr::write_volatile(p.add(SCRATCH - 1), 1);
        std::ptr::read_volatile(p) ^ std::ptr::read_volatile(p.add(SCRATCH - 1))
    }
}

#[inline(never)]
fn on_data(data: cpal::StreamData) {
    match data {
        cpal::StreamData::Output { buffer: cpal::UnknownTypeOutputBuffer::F32(mut b) } => {
            let n = b.len();
            let x = scratch_in_callback(n);
            for s in b.iter_mut() {
                *s = if x == 255 { 0.5 } else { 0.0 };
            }
        }
        cpal::StreamData::Output { buffer: cpal::UnknownTypeOutputBuffer::I16(mut b) } => {
            let n = b.len();
            let x = scratch_in_callback(n);
            for s in b.iter_mut() {
                *s = if x == 255 { 1 } else { 0 };
            }
        }
        cpal::StreamData::Output { buffer: cpal::UnknownTypeOutputBuffer::U16(mut b) } => {
            let n = b.len();
            let x = scratch_in_callback(n);
            for s in b.iter_mut() {
                *s = if x == 255 { 1 } else { 32768 };
            }
        }
        _ => return,
    }
    let calls = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    if calls == CALLBACKS {
        let out = std::io::stdout();
        let mut o = out.lock();
        let _ = writeln!(o, "cpal_null: callbacks={} allocs={} bytes={}",
                         calls, ALLOCS.load(Ordering::SeqCst),
                         ALLOCS.load(Ordering::SeqCst) * SCRATCH);
        let _ = o.flush();
        std::process::exit(0);
    }
}

fn main() {
    let host = cpal::default_host();
    let device = match host.default_output_device() {
        Some(d) => d,
        None => {
            eprintln!("cpal_null: no default output device");
            std::process::exit(2);
        }
    };
    let format = cpal::Format {
        channels: 2,
        sample_rate: cpal::SampleRate(48000),
        data_type: cpal::SampleFormat::F32,
    };
    let event_loop = host.event_loop();
    let id = match event_loop.build_output_stream(&device, &format) {
        Ok(id) => id,
        Err(e) => {
            eprintln!("cpal_null: cannot build the output stream: {}", e);
            std::process::exit(2);
        }
    };
    if let Err(e) = event_loop.play_stream(id) {
        eprintln!("cpal_null: cannot play the stream: {}", e);
        std::process::exit(2);
    }
    let t = std::thread::Builder::new()
        .name("cpal-loop".into())
        .spawn(move || {
            event_loop.run(move |_id, result| match result {
                Ok(data) => on_data(data),
                Err(e) => {
                    eprintln!("cpal_null: stream error: {}", e);
                    std::process::exit(3);
                }
            })
        })
        .expect("cannot start the event loop thread");
    let _ = t.join();
}
