/// A binding could not be set up, or a message could not be mapped.
public struct BindingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
