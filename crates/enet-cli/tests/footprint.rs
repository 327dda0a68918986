//! What the `enet` binary costs a process before it does anything (issue 14: a server's
//! memory). Every shared library it needs is mapped, and partly resident, in every `enet`
//! process, servers included.

/// The binary does not need the math library: libm's pages (~300 KB resident in an
/// idle server) came in for one `sin` in the demo and one in MD5's constants.
#[cfg(target_os = "linux")]
#[test]
fn the_binary_does_not_load_the_math_library() {
    let exe = std::fs::read(env!("CARGO_BIN_EXE_enet")).expect("the enet binary");
    assert_eq!(&exe[..4], b"\x7fELF");
    // A needed library's name is in the dynamic string table; nothing else in the binary
    // spells it.
    assert!(
        !exe.windows(9).any(|w| w == b"libm.so.6"),
        "enet links libm again: a float function (sin, exp, powf, ...) of the standard \
         library came back"
    );
    assert!(
        exe.windows(9).any(|w| w == b"libc.so.6"),
        "the check finds libraries"
    );
}
