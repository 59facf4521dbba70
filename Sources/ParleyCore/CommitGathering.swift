/// When a store's writer, holding a single write, waits a moment for another one to commit with it.
///
/// A synced commit costs the writer about the same CPU whether it carries one message or several. Group commit
/// shares it among the writes that queue up while a commit runs, but at moderate rates (hundreds to a few thousand
/// messages a second) each commit is over before the next write comes, so every message pays for a whole commit,
/// and each commit wakes every event loop that has an answer or a delivery to write. Waiting up to a short window
/// for a second write halves that where it pays, for at most that window's added latency.
///
/// The writer waits only when it holds one write, the previous commit ended less than a window ago (writes are
/// coming back to back) and carried at most two writes; a quiet server commits at once. Where commits already carry
/// several writes (clients that each wait for their answer before sending again, many of them) a wait would only add
/// a wake-up and hold back the answers the next writes wait for. A wait that brings nothing (a lone client sending
/// one message after another, each after its answer) makes the writer skip the next chances, twice as many after
/// each fruitless wait up to ``maxSkipped``, so such a client loses at most one window in that many messages.
package struct CommitGathering: Sendable {
    /// The most chances skipped after fruitless waits in a row.
    package static let maxSkipped = 256

    /// The longest a write waits for company, in nanoseconds; 0 never waits.
    package let windowNanoseconds: UInt64
    private var lastCommitEnd: UInt64?
    private var lastCommitWrites = 0
    private var toSkip = 0
    private var skipAfterNextFruitlessWait = 1

    /// - Parameter windowNanoseconds: The longest a write waits for another; 0 turns waiting off.
    package init(windowNanoseconds: UInt64) {
        self.windowNanoseconds = windowNanoseconds
    }

    /// Whether to wait (until `now` plus the window) for another write before committing the `writes` in hand.
    /// - Parameter now: The monotonic clock, in nanoseconds (`DispatchTime.uptimeNanoseconds`).
    package mutating func shouldWait(holding writes: Int, now: UInt64) -> Bool {
        guard windowNanoseconds > 0, writes == 1, lastCommitWrites <= 2, let lastCommitEnd, now >= lastCommitEnd,
            now - lastCommitEnd < windowNanoseconds
        else { return false }
        if toSkip > 0 {
            toSkip -= 1
            return false
        }
        return true
    }

    /// Tells how a wait went: whether another write came within the window.
    package mutating func waited(broughtMore: Bool) {
        if broughtMore {
            skipAfterNextFruitlessWait = 1
        } else {
            toSkip = skipAfterNextFruitlessWait
            skipAfterNextFruitlessWait = min(skipAfterNextFruitlessWait * 2, Self.maxSkipped)
        }
    }

    /// Tells when a commit of `writes` writes ended, on the same clock as ``shouldWait(holding:now:)``.
    package mutating func committed(_ writes: Int, at now: UInt64) {
        lastCommitEnd = now
        lastCommitWrites = writes
    }
}
