// inline.rs - allocates in an inlined helper of a generic type in a nested module, at
// lines marked ALLOC_LINE and CALL_LINE, which t_rust.sh finds in this file. Built
// optimised (-C opt-level=2) twice, with legacy and v0 symbol mangling: scratch() is
// inlined into render(), and std's Vec code into scratch(), so the profile's frames
// come from DWARF inlined instances; render() prints a known count of allocations.
fn runtime_count(n: usize) -> usize {
    n + std::env::args().count() - 1 // not a constant the optimiser can fold
}

pub mod dsp {
    pub struct Voice<T> {
        pub buf: Vec<T>,
    }

    impl<T: Copy + Default> Voice<T> {
        #[inline(always)]
        pub fn scratch(n: usize) -> Vec<T> {
            vec![T::default(); n] // ALLOC_LINE
        }

        #[inline(never)]
        pub fn render(&mut self, n: usize) -> usize {
            let s = Self::scratch(n); // CALL_LINE
            let len = s.len();
            self.buf = s;
            len
        }
    }
}

fn main() {
    let mut v = dsp::Voice::<f32> { buf: Vec::new() };
    let mut total = 0;
    for i in 0..5 {
        total += v.render(runtime_count(1000 + i));
    }
    println!("inline: renders=5 samples={}", total);
}
