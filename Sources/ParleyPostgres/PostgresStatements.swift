import Logging
import ParleyCore
import PostgresNIO

/// How the account and room stores reach the shared database: every statement and transaction within the stores'
/// deadline, and every failure a ``StoreError`` naming the database.
struct PostgresStatements: Sendable {
    let client: PostgresClient
    /// The database, as errors name it (without its password).
    let location: String
    let logger: Logger

    /// Runs a statement and decodes every row, so that errors surface.
    func rows<each Column: PostgresDecodable & Sendable>(
        _ query: PostgresQuery,
        as _: (repeat each Column).Type
    ) async throws -> [(repeat each Column)] {
        let client = self.client
        do {
            return try await withDeadline(PostgresMessageStore.operationDeadline) {
                var result: [(repeat each Column)] = []
                for try await row in try await client.query(query).decode((repeat each Column).self) { result.append(row) }
                return result
            }
        } catch {
            throw StoreError.unavailable(location, cause: error, reason: PostgresErrorText.describe(error))
        }
    }

    /// Runs `body` in one transaction.
    func transaction<Result: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> Result
    ) async throws -> Result {
        let (client, logger) = (self.client, self.logger)
        do {
            return try await withDeadline(PostgresMessageStore.operationDeadline) {
                try await client.withTransaction(logger: logger) { connection in try await body(connection, logger) }
            }
        } catch {
            throw StoreError.unavailable(location, cause: error, reason: PostgresErrorText.describe(error))
        }
    }
}
