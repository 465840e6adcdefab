/// `factsheet`: what a robot is and what it can do, sent when the fleet controller asks
/// (instant action `factsheetRequest`, VDA 5050 2.1 §6.10) — its type, its speeds and size, the
/// limits of what it reads, and every action it takes with where it may be used.
public struct VDA5050Factsheet: Codable, Hashable, Sendable {
    /// The robot's series and how it drives and finds its way.
    public struct TypeSpecification: Codable, Hashable, Sendable {
        public var seriesName: String
        public var seriesDescription: String?
        /// DIFF, OMNI or THREEWHEEL.
        public var agvKinematic: String
        /// FORKLIFT, CONVEYOR, TUGGER or CARRIER.
        public var agvClass: String
        /// Kilograms.
        public var maxLoadMass: Double
        public var localizationTypes: [String]
        public var navigationTypes: [String]

        public init(seriesName: String, seriesDescription: String? = nil, agvKinematic: String = "DIFF", agvClass: String = "CARRIER",
                    maxLoadMass: Double = 0, localizationTypes: [String] = ["NATURAL"], navigationTypes: [String] = ["AUTONOMOUS"]) {
            self.seriesName = seriesName
            self.seriesDescription = seriesDescription
            self.agvKinematic = agvKinematic
            self.agvClass = agvClass
            self.maxLoadMass = maxLoadMass
            self.localizationTypes = localizationTypes
            self.navigationTypes = navigationTypes
        }
    }

    /// Speeds (m/s), accelerations (m/s²) and size (m).
    public struct PhysicalParameters: Codable, Hashable, Sendable {
        public var speedMin: Double
        public var speedMax: Double
        public var accelerationMax: Double
        public var decelerationMax: Double
        public var heightMin: Double?
        public var heightMax: Double
        public var width: Double
        public var length: Double

        public init(speedMin: Double = 0.01, speedMax: Double, accelerationMax: Double = 0.5, decelerationMax: Double = 0.8,
                    heightMax: Double = 1.2, width: Double = 0.6, length: Double = 0.8) {
            self.speedMin = speedMin
            self.speedMax = speedMax
            self.accelerationMax = accelerationMax
            self.decelerationMax = decelerationMax
            self.heightMax = heightMax
            self.width = width
            self.length = length
        }
    }

    /// The longest strings and arrays the robot reads, and how often it may be sent orders and
    /// sends state (seconds).
    public struct ProtocolLimits: Codable, Hashable, Sendable {
        public struct Timing: Codable, Hashable, Sendable {
            public var minOrderInterval: Double
            public var minStateInterval: Double
            public var defaultStateInterval: Double?
            public var visualizationInterval: Double?

            public init(minOrderInterval: Double, minStateInterval: Double, defaultStateInterval: Double?, visualizationInterval: Double?) {
                self.minOrderInterval = minOrderInterval
                self.minStateInterval = minStateInterval
                self.defaultStateInterval = defaultStateInterval
                self.visualizationInterval = visualizationInterval
            }
        }

        /// By the standard's names (`msgLen`, `idLen`, …); a limit not given is none.
        public var maxStringLens: [String: Int]
        /// By the standard's dotted names (`order.nodes`, …).
        public var maxArrayLens: [String: Int]
        public var timing: Timing

        public init(maxStringLens: [String: Int], maxArrayLens: [String: Int], timing: Timing) {
            self.maxStringLens = maxStringLens
            self.maxArrayLens = maxArrayLens
            self.timing = timing
        }
    }

    /// An action the robot takes: where it may be used (INSTANT, NODE, EDGE) and its parameters.
    public struct ActionDescription: Codable, Hashable, Sendable {
        public struct Parameter: Codable, Hashable, Sendable {
            public var key: String
            /// BOOL, NUMBER, INTEGER, FLOAT, STRING, OBJECT or ARRAY.
            public var valueDataType: String
            public var description: String?
            public var isOptional: Bool?

            public init(key: String, valueDataType: String, description: String? = nil, isOptional: Bool? = nil) {
                self.key = key
                self.valueDataType = valueDataType
                self.description = description
                self.isOptional = isOptional
            }
        }

        public var actionType: String
        public var actionDescription: String?
        public var actionScopes: [String]
        public var actionParameters: [Parameter]?

        public init(_ actionType: String, scopes: [String], description: String? = nil, parameters: [Parameter]? = nil) {
            self.actionType = actionType
            self.actionScopes = scopes
            self.actionDescription = description
            self.actionParameters = parameters
        }
    }

    /// An optional field of the standard the robot reads or needs.
    public struct OptionalParameter: Codable, Hashable, Sendable {
        public var parameter: String
        /// SUPPORTED or REQUIRED.
        public var support: String
        public var description: String?

        public init(_ parameter: String, support: String = "SUPPORTED", description: String? = nil) {
            self.parameter = parameter
            self.support = support
            self.description = description
        }
    }

    public struct ProtocolFeatures: Codable, Hashable, Sendable {
        public var optionalParameters: [OptionalParameter]
        public var agvActions: [ActionDescription]

        public init(optionalParameters: [OptionalParameter], agvActions: [ActionDescription]) {
            self.optionalParameters = optionalParameters
            self.agvActions = agvActions
        }
    }

    public var headerId: Int
    public var timestamp: String
    public var version: String
    public var manufacturer: String
    public var serialNumber: String
    public var typeSpecification: TypeSpecification
    public var physicalParameters: PhysicalParameters
    public var protocolLimits: ProtocolLimits
    public var protocolFeatures: ProtocolFeatures
    /// Wheels and envelopes: none described (the standard's fields are all optional).
    public var agvGeometry: [String: VDA5050Value]
    /// Load positions and sets: none described.
    public var loadSpecification: [String: VDA5050Value]

    public init(header: VDA5050Header, typeSpecification: TypeSpecification, physicalParameters: PhysicalParameters,
                protocolLimits: ProtocolLimits, protocolFeatures: ProtocolFeatures) {
        headerId = header.headerId
        timestamp = header.timestamp
        version = header.version
        manufacturer = header.manufacturer
        serialNumber = header.serialNumber
        self.typeSpecification = typeSpecification
        self.physicalParameters = physicalParameters
        self.protocolLimits = protocolLimits
        self.protocolFeatures = protocolFeatures
        agvGeometry = [:]
        loadSpecification = [:]
    }
}
