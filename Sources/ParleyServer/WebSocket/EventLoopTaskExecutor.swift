import NIOCore

/// Runs tasks on one event loop: a connection's session runs where its socket is read and written, so handling a
/// command and writing its answer wake no other thread (only the store's own work leaves the loop).
final class EventLoopTaskExecutor: TaskExecutor {
    private let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
