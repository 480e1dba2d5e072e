// hello.rs - the smallest Rust program: std's runtime calls pthread_getattr_np on the
// main thread before main (its stack guard), and glibc allocates inside that call.
fn main() {
    println!("hello from rust");
}
