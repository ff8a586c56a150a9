import Testing

@testable import Controller

/// Which registry `repositoryCredentials` are for, from the image reference (as Docker reads it).
struct RegistryNameTests {
    @Test(arguments: [
        ("127.0.0.1:5000/private/app:v1", "127.0.0.1:5000"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest", "123456789012.dkr.ecr.us-east-1.amazonaws.com"),
        ("localhost/app", "localhost"),
        ("ghcr.io/org/tool@sha256:abc", "ghcr.io"),
        ("library/debian:bookworm-slim", "https://index.docker.io/v1/"),
        ("myorg/app", "https://index.docker.io/v1/"),
        ("debian", "https://index.docker.io/v1/"),
    ])
    func registryOfAnImage(image: String, registry: String) {
        #expect(SecretResolver.registry(of: image) == registry)
    }
}
