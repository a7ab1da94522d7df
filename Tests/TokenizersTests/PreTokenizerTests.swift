import Testing

@testable import Tokenizers

@Suite("Pre-tokenizer regex scanners")
struct PreTokenizerTests {
    static func words(_ kind: PreTokenizer, _ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        return kind.split(scalars).map { range in
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            return String(view)
        }
    }

    @Test("GPT-2 split keeps a space with the following word and leaves the last space of a run")
    func gpt2() {
        #expect(
            Self.words(.gpt2, "Hello world's  12 !!\n\n x")
                == ["Hello", " world", "'s", " ", " 12", " !!", "\n\n", " x"])
        #expect(Self.words(.gpt2, "It'S   ") == ["It", "'", "S", "   "])
        #expect(Self.words(.gpt2, "\u{00A0}x") == ["\u{00A0}", "x"])
    }

    @Test("Qwen2 split takes single digits, case-insensitive contractions and newline runs")
    func qwen2() {
        #expect(
            Self.words(.qwen2, "I'M 2024年\n\nhi") == ["I", "'M", " ", "2", "0", "2", "4", "年", "\n\n", "hi"])
        #expect(Self.words(.qwen2, " (normal)\n x") == [" (", "normal", ")\n", " x"])
        #expect(Self.words(.qwen2, "a \n  b") == ["a", " \n", " ", " b"])
    }

    @Test("Llama-3 split groups digits by three and joins one punctuation mark to a word")
    func llama3() {
        #expect(Self.words(.llama3, "12345") == ["123", "45"])
        #expect(Self.words(.llama3, "\tHello,world") == ["\tHello", ",world"])
    }

    @Test("every split covers the input exactly")
    func coversInput() {
        let text = "  mixed \t text\r\n with 数字 123 and 🦙 emoji's\n\n\n"
        for kind in [PreTokenizer.gpt2, .qwen2, .llama3] {
            #expect(Self.words(kind, text).joined() == text)
        }
    }
}
