/// A wire message or template that cannot be used, with what is wrong with it.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
