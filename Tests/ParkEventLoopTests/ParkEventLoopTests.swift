import ParkEventLoop
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A pipe whose ends are closed when the test is done with it.
private final class Pipe {
    let reader: Int32
    private(set) var writer: Int32

    init() {
        var ends: [Int32] = [-1, -1]
        // pipe2 is a GNU extension Swift's Glibc module does not export.
        precondition(pipe(&ends) == 0, "pipe")
        for fd in ends { _ = fcntl(fd, F_SETFL, O_NONBLOCK) }
        reader = ends[0]
        writer = ends[1]
    }

    deinit {
        close(reader)
        if writer >= 0 { close(writer) }
    }

    /// Closes the writing end once (a second close could hit a number another test reused).
    func closeWriter() {
        close(writer)
        writer = -1
    }

    func writeByte() { var byte: UInt8 = 7; _ = write(writer, &byte, 1) }
}

/// The buffer is sized by C, so it matches the kernel's packed layout (12 bytes on x86-64).
@Test func epollEventSizeMatchesTheKernel() {
    #if arch(x86_64)
    #expect(EpollEvents.eventSize == 12)
    #else
    #expect(EpollEvents.eventSize == 16)
    #endif
}

@Test func selectorReportsAReadablePipeWithItsToken() throws {
    let selector = try EpollSelector()
    let pipe = Pipe()
    var events = EpollEvents(capacity: 4)
    // Tokens are 64 bits wide and come back unchanged, whatever their high bits.
    let token: UInt64 = 0xDEAD_BEEF_0000_0042
    try selector.add(pipe.reader, interest: .readable, token: token)

    try selector.wait(into: &events, timeoutMilliseconds: 0)
    #expect(events.count == 0)

    pipe.writeByte()
    try selector.wait(into: &events, timeoutMilliseconds: 0)
    #expect(events.count == 1)
    #expect(events[0].token == token)
    #expect(events[0].readable && !events[0].writable && !events[0].failed)

    try selector.modify(pipe.reader, interest: .readable, token: 99)
    try selector.wait(into: &events, timeoutMilliseconds: 0)
    #expect(events.count == 1 && events[0].token == 99)

    try selector.remove(pipe.reader)
    try selector.wait(into: &events, timeoutMilliseconds: 0)
    #expect(events.count == 0)
}

@Test func selectorReportsWritableAndHangUp() throws {
    let selector = try EpollSelector()
    let pipe = Pipe()
    var events = EpollEvents(capacity: 4)
    try selector.add(pipe.writer, interest: .writable, token: 1)
    try selector.wait(into: &events, timeoutMilliseconds: 0)
    #expect(events.count == 1 && events[0].writable && !events[0].readable)

    // A reader whose writer is gone reports hang-up even though only readability was asked for.
    let other = Pipe()
    try selector.add(other.reader, interest: .readable, token: 2)
    other.closeWriter()
    try selector.wait(into: &events, timeoutMilliseconds: 0)
    let hungUp = (0 ..< events.count).map { events[$0] }.first { $0.token == 2 }
    #expect(hungUp?.hangUp == true && hungUp?.failed == true && hungUp?.error == false)
}

@Test func selectorErrorsNameTheCallAndErrno() throws {
    let selector = try EpollSelector()
    #expect(throws: EventLoopError("epoll_ctl(DEL)", code: ENOENT)) { try selector.remove(0) }
    #expect(EventLoopError("epoll_ctl(DEL)", code: ENOENT).description.hasPrefix("epoll_ctl(DEL): "))
}

@Test func wakerWakesTheSelectorUntilDrained() throws {
    let selector = try EpollSelector()
    let waker = try EventWaker()
    var events = EpollEvents(capacity: 4)
    try selector.add(waker.descriptor, interest: .readable, token: EventWaker.token)
    try selector.wait(into: &events, timeoutMilliseconds: 0)
    #expect(events.count == 0)

    waker.wake()
    waker.wake()  // collapses with the first
    try selector.wait(into: &events, timeoutMilliseconds: 0)
    #expect(events.count == 1 && events[0].token == EventWaker.token)

    waker.drain()
    try selector.wait(into: &events, timeoutMilliseconds: 0)
    #expect(events.count == 0)
    waker.close()
    waker.close()  // idempotent
}

/// Polls every millisecond; the bound is only reached when the test fails.
private func eventually(_ condition: () -> Bool) -> Bool {
    for _ in 0 ..< 2_000 {
        if condition() { return true }
        usleep(1_000)
    }
    return condition()
}

@Test func eventThreadHandsReadyDescriptorsToItsHandler() throws {
    let thread = try EventThread()
    let pipe = Pipe()
    let seen = Mutex<[Int32]>([])
    try thread.watch(pipe.reader)
    try thread.start(timeout: { -1 }) { ready in
        for item in ready where item.readable {
            var byte: UInt8 = 0
            _ = read(item.fd, &byte, 1)
            seen.withLock { $0.append(item.fd) }
        }
    }
    pipe.writeByte()
    #expect(eventually { seen.withLock { $0 } == [pipe.reader] })
    thread.stop()
}

@Test func eventThreadCallsTheHandlerOnTimeout() throws {
    let thread = try EventThread()
    let calls = Atomic<Int>(0)
    try thread.start(timeout: { 1 }) { ready in
        if ready.isEmpty { calls.add(1, ordering: .relaxed) }
    }
    #expect(eventually { calls.load(ordering: .relaxed) >= 3 })
    thread.stop()
}

@Test func eventThreadStopIsIdempotent() throws {
    let thread = try EventThread()
    // Waiting forever: only the waker can end it.
    try thread.start(timeout: { -1 }) { _ in }
    thread.stop()
    thread.stop()
    // Never started: stop does nothing.
    let idle = try EventThread()
    idle.stop()
    idle.stop()
}

@Test func nativeThreadJoinsOnceAndKnowsItself() throws {
    let thread = NativeThread()
    // 0: not yet known, 1: the thread saw itself, 2: it gave up.
    let outcome = Atomic<Int>(0)
    try thread.start {
        // isCurrent is false until start() has stored the handle; ask until it is known.
        for _ in 0 ..< 2_000 {
            if thread.isCurrent {
                outcome.store(1, ordering: .relaxed)
                return
            }
            usleep(1_000)
        }
        outcome.store(2, ordering: .relaxed)
    }
    // Joined only once the thread has answered: join() forgets the handle, after which nothing
    // (the thread included) is current any more.
    #expect(eventually { outcome.load(ordering: .relaxed) != 0 })
    thread.join()
    thread.join()
    let result = outcome.load(ordering: .relaxed)
    #expect(result == 1)
    #expect(!thread.isCurrent)
}

@Test func durationNanosecondsSaturate() {
    #expect(Duration.milliseconds(1500).nanoseconds == 1_500_000_000)
    #expect(Duration.milliseconds(-1).nanoseconds == 0)
    #expect(Duration.seconds(-3).nanoseconds == 0)
    #expect(Duration.seconds(Int64.max).nanoseconds == .max)
    let before = MonotonicClock.now()
    #expect(MonotonicClock.now() >= before)
}

/// Whatever the order of pushes, due deadlines come out earliest first (ties in any order) and
/// the rest wait.
@Test func deadlineHeapHandsDeadlinesOutInOrder() {
    var heap = DeadlineHeap<Int>()
    for (index, deadline) in [50, 10, 40, 30, 20, 10].enumerated() { heap.push(UInt64(deadline), index) }
    var out: [UInt64] = []
    while let (deadline, _) = heap.popDue(35) { out.append(deadline) }
    #expect(out == [10, 10, 20, 30] && heap.earliest == 40 && heap.count == 2)
    var random = SystemRandomNumberGenerator()
    let deadlines = (0 ..< 1_000).map { _ in UInt64.random(in: 0 ... 10_000, using: &random) }
    var large = DeadlineHeap<Int>()
    for (index, deadline) in deadlines.enumerated() { large.push(deadline, index) }
    var popped: [UInt64] = []
    while let (deadline, _) = large.popDue(.max) { popped.append(deadline) }
    #expect(popped == deadlines.sorted())
}
