import Foundation
import Testing

@testable import ZipTask

struct UTCDateTests {
    @Test func httpDatesParse() {
        #expect(UTCDate.parseHTTP("Wed, 21 Oct 2015 07:28:00 GMT") == Date(timeIntervalSince1970: 1_445_412_480))
        #expect(UTCDate.parseHTTP("garbage") == nil)
        #expect(UTCDate.parseHTTP("Wed, 21 Foo 2015 07:28:00 GMT") == nil)
    }

    @Test func formats() {
        let d = Date(timeIntervalSince1970: 1_369_353_600.9)
        #expect(UTCDate.amz(d) == "20130524T000000Z")
        #expect(UTCDate.iso8601(d) == "2013-05-24T00:00:00Z")
    }
}
