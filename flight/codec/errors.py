"""Exceptions of the payload-encoding engine, shared by the C and the reference backends."""


class CodecError(ValueError):
    """Malformed input to a decoder: raised instead of ever reading or writing out of bounds."""


class UncorrectableError(CodecError):
    """A Reed-Solomon codeword has more symbol errors than the code can correct.

    `codeword` is the index (0..interleave-1) of the first codeword that failed.
    """

    def __init__(self, message: str, codeword: int = 0) -> None:
        super().__init__(message)
        self.codeword = codeword
