fn main() {
    println!("cargo:rustc-link-lib=enet");
    println!("cargo:rerun-if-changed=build.rs");
}
