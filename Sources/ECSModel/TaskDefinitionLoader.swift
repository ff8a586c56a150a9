import Foundation

/// The launch type whose rules a task definition is validated against.
public enum LaunchType: String, Sendable, Codable, CaseIterable {
    case fargate = "FARGATE"
    case ec2 = "EC2"
}

/// The result of reading a task definition file: the definition (when it has no
/// errors), the normalised JSON that would be registered, and every finding.
public struct LoadedTaskDefinition: Sendable {
    public let definition: TaskDefinition?
    /// The normalised document (read-only fields dropped, values coerced).
    public let document: JSONValue?
    public let diagnostics: [Diagnostic]
    /// What `aws ecs register-task-definition --cli-input-json` says of the file as written,
    /// in botocore's words, when it refuses it (unknown fields, nulls, numbers as strings, …:
    /// what this loader accepts with a warning); empty when it takes it.
    public let awsCLIRefusals: [String]

    public init(definition: TaskDefinition?, document: JSONValue?, diagnostics: [Diagnostic], awsCLIRefusals: [String] = []) {
        self.definition = definition
        self.document = document
        self.diagnostics = diagnostics
        self.awsCLIRefusals = awsCLIRefusals
    }

    /// True when nothing blocks registration.
    public var isValid: Bool { definition != nil && diagnostics.errors.isEmpty }
}

/// Reads task definitions as `aws ecs register-task-definition --cli-input-json` takes them,
/// and also the `describe-task-definition` output people feed it by mistake.
public enum TaskDefinitionLoader {
    /// Fields ECS adds on registration; present when a file is describe-task-definition output.
    public static let readOnlyFields = [
        "taskDefinitionArn", "revision", "status", "registeredAt", "registeredBy",
        "requiresAttributes", "compatibilities", "deregisteredAt", "deleteRequestedAt",
    ]

    /// Reads, normalises and validates a task definition from JSON text.
    public static func load(text: String, launchType: LaunchType = .fargate) -> LoadedTaskDefinition {
        load(bytes: Array(text.utf8), launchType: launchType)
    }

    /// Reads, normalises and validates a task definition from UTF-8 bytes.
    public static func load(bytes: [UInt8], launchType: LaunchType = .fargate) -> LoadedTaskDefinition {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            return LoadedTaskDefinition(
                definition: nil, document: nil,
                diagnostics: [
                    Diagnostic(.error, "", "malformed JSON at \(error)")
                ])
        }
        return load(json: root, launchType: launchType)
    }

    /// Normalises and validates an already parsed document.
    public static func load(json root: JSONValue, launchType: LaunchType = .fargate) -> LoadedTaskDefinition {
        var diagnostics: [Diagnostic] = []
        guard case .object = root else {
            return LoadedTaskDefinition(
                definition: nil, document: nil,
                diagnostics: [
                    Diagnostic(.error, "", "a task definition must be a JSON object, not \(root.typeDescription)")
                ])
        }
        var document = root
        if let wrapped = root["taskDefinition"], case .object = wrapped {
            diagnostics.append(
                Diagnostic(
                    .warning, "taskDefinition",
                    "this is describe-task-definition output; using the task definition inside it"))
            var inner = wrapped
            if let tags = root["tags"], inner["tags"] == nil { inner = inner.setting("tags", to: tags) }
            document = inner
            for key in root.objectMembers?.map(\.key) ?? [] where key != "taskDefinition" && key != "tags" {
                diagnostics.append(Diagnostic(.warning, key, "unknown field beside taskDefinition; ignored"))
            }
        }
        let readOnly = (document.objectMembers ?? []).map(\.key).filter { readOnlyFields.contains($0) }
        if !readOnly.isEmpty {
            diagnostics.append(
                Diagnostic(
                    .warning, "",
                    "read-only fields from describe-task-definition output dropped: \(readOnly.joined(separator: ", "))"))
            for key in readOnly { document = document.removing(key) }
        }
        var normalizer = ShapeNormalizer()
        let normalized = normalizer.normalize(document, as: "RegisterTaskDefinitionRequest", at: JSONPath())
        diagnostics += normalizer.diagnostics
        // What the aws CLI says of the file as it is: the pass above, unless the document
        // was unwrapped or stripped first.
        let refusals: [String]
        if document == root {
            refusals = normalizer.awsCLIRefusals
        } else {
            var asWritten = ShapeNormalizer()
            _ = asWritten.normalize(root, as: "RegisterTaskDefinitionRequest", at: JSONPath())
            refusals = asWritten.awsCLIRefusals
        }
        diagnostics += placeholderWarnings(in: normalized ?? document, at: JSONPath())
        guard let normalized else {
            return LoadedTaskDefinition(definition: nil, document: nil, diagnostics: diagnostics, awsCLIRefusals: refusals)
        }
        // Fields with type errors were dropped above; when what is left still decodes,
        // the semantic rules run too, so one pass reports every problem.
        let structurallyValid = diagnostics.errors.isEmpty
        let definition: TaskDefinition
        do {
            definition = try JSONDecoder().decode(TaskDefinition.self, from: Data(normalized.serialized().utf8))
        } catch {
            if structurallyValid {
                // The shape check above should have caught it; still, say where, in words.
                diagnostics.append(Self.diagnostic(for: error))
            }
            return LoadedTaskDefinition(definition: nil, document: normalized, diagnostics: diagnostics, awsCLIRefusals: refusals)
        }
        diagnostics += TaskDefinitionValidator.validate(definition, launchType: launchType)
        return LoadedTaskDefinition(
            definition: diagnostics.errors.isEmpty ? definition : nil,
            document: normalized,
            diagnostics: diagnostics,
            awsCLIRefusals: refusals)
    }

    /// A decoding failure as a diagnostic at the field's JSON path.
    public static func diagnostic(for error: any Error) -> Diagnostic {
        func path(_ keys: [any CodingKey]) -> String {
            keys.reduce(JSONPath()) { p, key in key.intValue.map { p.index($0) } ?? p.member(key.stringValue) }.description
        }
        switch error as? DecodingError {
        case let .keyNotFound(key, context)?:
            return Diagnostic(.error, path(context.codingPath + [key]), "is required")
        case let .typeMismatch(_, context)?, let .valueNotFound(_, context)?, let .dataCorrupted(context)?:
            return Diagnostic(.error, path(context.codingPath), "could not be read: \(context.debugDescription)")
        default:
            return Diagnostic(.error, "", "could not read the task definition: \(error)")
        }
    }

    private static func placeholderWarnings(in value: JSONValue, at path: JSONPath) -> [Diagnostic] {
        switch value {
        case let .string(s):
            if let p = Placeholder.find(in: s) {
                return [Diagnostic(.warning, path.text, "\(p) looks like a placeholder that was never substituted")]
            }
            return []
        case let .array(items):
            return items.enumerated().flatMap { placeholderWarnings(in: $1, at: path.index($0)) }
        case let .object(members):
            return members.flatMap { placeholderWarnings(in: $0.value, at: path.member($0.key)) }
        default:
            return []
        }
    }
}
