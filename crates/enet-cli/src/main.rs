fn main() {
    println!("enet: work in progress");
}
