//! The shipped build takes its randomness from the OS, not from aws-lc's CPU jitter
//! collector (`.cargo/config.toml`, README "Cold start and entropy"). This fails if the
//! setting is lost, so a 30 ms cold-start regression cannot slip in unnoticed.

#[test]
fn aws_lc_is_built_without_cpu_jitter_entropy() {
    assert!(
        aws_lc_rs::try_fips_cpu_jitter_entropy().is_err(),
        "aws-lc was built with CPU jitter entropy: is AWS_LC_SYS_NO_JITTER_ENTROPY=1 still set in .cargo/config.toml?"
    );
    // Randomness still works, from getrandom(2).
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut a).unwrap();
    aws_lc_rs::rand::fill(&mut b).unwrap();
    assert_ne!(a, b);
}
