/// The device kinds a run can use: the built-in ones plus those loaded from plugins.
///
/// A value type assembled once at start-up (by the CLI or a test) and passed down; the core
/// does not know which kinds exist.
public struct DeviceKindRegistry: KindCatalog {
    private var kinds: [String: any DeviceKind] = [:]
    private var order: [String] = []

    public init() {}

    /// A registry holding `kinds`; a later kind with a name already taken is reported, not added.
    public init(_ kinds: [any DeviceKind]) throws(RegistryError) {
        for kind in kinds { try register(kind) }
    }

    /// Adds a kind. - Throws: ``RegistryError`` if the name is taken.
    public mutating func register(_ kind: any DeviceKind) throws(RegistryError) {
        let name = kind.descriptor.name
        guard kinds[name] == nil else { throw RegistryError(message: "two device kinds are named '\(name)'") }
        kinds[name] = kind
        order.append(name)
    }

    public func kind(named name: String) -> (any DeviceKind)? { kinds[name] }

    public func descriptor(named name: String) -> KindDescriptor? { kinds[name]?.descriptor }

    /// Kind names in registration order.
    public var names: [String] { order }

    /// Kinds in registration order.
    public var all: [any DeviceKind] { order.compactMap { kinds[$0] } }
}

/// A kind could not be registered.
public struct RegistryError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
