//! The proptest configuration shared by the API property tests (`api_props.rs`,
//! `api_props_native.rs`): 24 cases unless `PROPTEST_CASES` says otherwise, bounded
//! shrinking, and no failure files written into the source tree.

use proptest::prelude::ProptestConfig;

/// The property tests' configuration.
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(24),
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
