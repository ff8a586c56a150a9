import Testing

@testable import Controller

/// `IPv4SubnetCIDRBlock` as the metadata endpoint derives it from the engine's address and prefix.
struct DockerFactsTests {
    @Test(arguments: [
        ("172.17.0.2", 16, "172.17.0.0/16"),
        ("10.1.2.3", 24, "10.1.2.0/24"),
        ("10.1.2.3", 32, "10.1.2.3/32"),
        ("10.1.2.3", 0, "0.0.0.0/0"),
        ("192.168.77.130", 25, "192.168.77.128/25"),
    ])
    func subnetIsTheAddressUnderItsPrefix(address: String, prefix: Int, subnet: String) {
        #expect(DockerContainerFacts(ipv4Address: address, ipv4PrefixLength: prefix).subnetCIDRBlock == subnet)
    }

    @Test func malformedAddressesGiveNoSubnet() {
        for (address, prefix) in [("172.17.0", 16), ("172.17.0.300", 16), ("fe80::1", 64), ("172.17.0.2", 33), ("", 16)] {
            #expect(DockerContainerFacts(ipv4Address: address, ipv4PrefixLength: prefix).subnetCIDRBlock == nil, "\(address)/\(prefix)")
        }
        #expect(DockerContainerFacts(ipv4Address: "172.17.0.2").subnetCIDRBlock == nil)
    }
}

/// DescribeTasks' imageDigest from what the engine says of an image.
struct ImageDigestTests {
    @Test func theImagesOwnRepositoryDigestWinsThenAnyThenTheID() {
        let digests = ["mirror.example/debian@sha256:aaa", "debian@sha256:bbb"]
        #expect(DockerRuntime.imageDigest(image: "debian:bookworm-slim", id: "sha256:id", repoDigests: digests) == "sha256:bbb")
        #expect(DockerRuntime.imageDigest(image: "other:1", id: "sha256:id", repoDigests: digests) == "sha256:aaa")
        #expect(DockerRuntime.imageDigest(image: "127.0.0.1:5000/app:v1", id: "sha256:id", repoDigests: ["127.0.0.1:5000/app@sha256:ccc"]) == "sha256:ccc")
        #expect(DockerRuntime.imageDigest(image: "local/build", id: "sha256:id", repoDigests: []) == "sha256:id")
    }
}
