import ServiceLifecycle

/// Carries between the nodes of a cluster what they share besides the store.
///
/// A broker is given the node's ``Hub`` and the stream of its ``Hub/Announcement``s. It must:
/// - feed every message committed on any node to ``Hub/deliver(_:)``, each room in offset order, filling any gap
///   from the store (the hub drops offsets a member already has, so repeats are harmless);
/// - after losing contact, call ``Hub/prepareCatchUp()`` and deliver from the store what the members missed;
/// - publish this node's announcements, and apply the others' with ``Hub/applyRemotePresence(node:room:name:present:)``,
///   ``Hub/replaceRemotePresence(_:)``, ``Hub/removeRemoteNode(_:)``, ``Hub/remoteTyping(in:name:)`` and
///   ``Hub/remotePlainClientLeft()``.
///
/// One node on SQLite needs none: its store hands commits to the hub directly. The PostgreSQL cluster's broker is
/// `PostgresClusterLink` (LISTEN/NOTIFY).
public protocol Broker: Service {
    /// Whether this node is receiving the other nodes' traffic now (`/readyz` answers 503 while it is not).
    var isConnected: Bool { get }
}
