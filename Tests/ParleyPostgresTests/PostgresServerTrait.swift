import ParleyTesting
import Testing

extension Trait where Self == ConditionTrait {
    /// Runs a suite only where a PostgreSQL server is at hand (scripts/test.sh starts one and sets
    /// `PARLEY_TEST_POSTGRES`).
    static var postgresServerAtHand: Self {
        .enabled(if: TemporaryDatabases.postgresServer != nil, "PARLEY_TEST_POSTGRES is not set; scripts/test.sh sets it")
    }
}
