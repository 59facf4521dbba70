import NIOCore
import ParleyCore

/// How a WebSocket connection checks that its client is still there: a ping every `interval`, and the connection is
/// dropped when the pong has not come back within `timeout`, so a client that vanished without closing leaves its
/// rooms (and everyone's presence) within interval + timeout.
///
/// One timer per event loop pings every connection on that loop (``Pinger``): a connection costs an entry in a
/// table, not a timer of its own.
final class Heartbeat: Sendable {
    let interval: Duration
    let timeout: Duration
    private let pingers: PerEventLoop<Pinger>

    init(interval: Duration, timeout: Duration) {
        self.interval = interval
        self.timeout = timeout
        pingers = PerEventLoop { Pinger(eventLoop: $0, interval: interval, timeout: timeout) }
    }

    /// The pinger of the event loop the caller runs on, started with the loop's first connection.
    func pinger(on eventLoop: any EventLoop) -> Pinger {
        pingers.value(on: eventLoop)
    }

    /// What a pinger asks of a connection. Called on its event loop.
    protocol Pingable: AnyObject {
        /// Sends ping number `sequence`, carrying `payload`: only a pong echoing that payload answers it.
        func ping(_ sequence: UInt64, payload: UInt64)
        /// Drops the connection if the pong for `sequence` has not come back (and it was sent that ping).
        func dropIfUnanswered(_ sequence: UInt64)
    }

    /// Pings the connections of one event loop every interval and checks their pongs a timeout later.
    final class Pinger: Sendable {
        private let members: NIOLoopBoundBox<[ObjectIdentifier: any Pingable]>
        private let sequence: NIOLoopBoundBox<UInt64>
        /// What makes ping payloads unpredictable, so that a client cannot answer a ping it never read with a pong
        /// made in advance; a payload is derived from it and the ping's number, so no connection stores one.
        private let secret = UInt64.random(in: .min ... .max)

        fileprivate init(eventLoop: any EventLoop, interval: Duration, timeout: Duration) {
            members = NIOLoopBoundBox([:], eventLoop: eventLoop)
            sequence = NIOLoopBoundBox(0, eventLoop: eventLoop)
            let members = self.members
            let sequence = self.sequence
            let timeout = TimeAmount(timeout)
            let interval = TimeAmount(interval)
            let secret = self.secret
            eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                sequence.value += 1
                let sent = sequence.value
                let payload = Self.payload(of: sent, secret: secret)
                for member in members.value.values { member.ping(sent, payload: payload) }
                eventLoop.scheduleTask(in: timeout) {
                    for member in Array(members.value.values) { member.dropIfUnanswered(sent) }
                }
            }
        }

        /// The eight bytes ping number `sequence` carries, and its pong must echo.
        func payload(of sequence: UInt64) -> UInt64 {
            Self.payload(of: sequence, secret: secret)
        }

        private static func payload(of sequence: UInt64, secret: UInt64) -> UInt64 {
            var hasher = Hasher()
            hasher.combine(secret)
            hasher.combine(sequence)
            return UInt64(bitPattern: Int64(hasher.finalize()))
        }

        /// Pings `member` from the next tick on, until ``remove(_:)``. On the pinger's event loop.
        func add(_ member: any Pingable) {
            members.value[ObjectIdentifier(member)] = member
        }

        /// Stops pinging `member`. On the pinger's event loop.
        func remove(_ member: any Pingable) {
            members.value[ObjectIdentifier(member)] = nil
        }
    }
}
