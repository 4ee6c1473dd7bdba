//! Errors of the dubbo body layer: which part of a body could not be read, and why.

use std::fmt;

use crate::hessian2::{DecodeError, DescriptorError};

/// A part of a dubbo body, to say where decoding failed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Field {
    /// Request field 1.
    DubboVersion,
    /// Request field 2.
    Path,
    /// Request field 3.
    Version,
    /// Request field 4.
    Method,
    /// Request field 5.
    ParameterTypes,
    /// Request argument (0-based).
    Argument(usize),
    /// The attachment map.
    Attachments,
    /// The response's result flag.
    ResultFlag,
    /// The response's value.
    Result,
    /// The response's exception.
    Exception,
    /// The message of a non-OK response.
    ErrorMessage,
    /// An event body.
    Event,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DubboVersion => f.write_str("dubbo version"),
            Self::Path => f.write_str("service path"),
            Self::Version => f.write_str("service version"),
            Self::Method => f.write_str("method name"),
            Self::ParameterTypes => f.write_str("parameter types"),
            Self::Argument(i) => write!(f, "argument {i}"),
            Self::Attachments => f.write_str("attachments"),
            Self::ResultFlag => f.write_str("result flag"),
            Self::Result => f.write_str("result"),
            Self::Exception => f.write_str("exception"),
            Self::ErrorMessage => f.write_str("error message"),
            Self::Event => f.write_str("event"),
        }
    }
}

/// A request, response or event body that cannot be decoded.
#[derive(Clone, PartialEq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// A value of the body is malformed or of the wrong type.
    #[error("{field}: {source}")]
    Decode {
        /// Which value.
        field: Field,
        /// What was wrong.
        source: DecodeError,
    },
    /// The parameter descriptor string is not valid (`docs/protocol.md` §2.1).
    #[error("parameter types: {0}")]
    Descriptor(#[from] DescriptorError),
    /// The parameter descriptor string names more parameters than a Java method can have.
    #[error(
        "parameter types: more than {} parameters, the JVM's limit",
        super::request::MAX_PARAMETERS
    )]
    TooManyParameters,
    /// The arguments asked for do not match the descriptor's count.
    #[error("the descriptor has {found} arguments, {expected} requested")]
    ArgumentCount {
        /// Arguments requested.
        expected: usize,
        /// Arguments in the descriptor (left to read).
        found: usize,
    },
    /// A response's result flag is not 0 to 5 (`docs/protocol.md` §3.1).
    #[error("unknown result flag {0}, expected 0 to 5")]
    UnknownResultFlag(i32),
    /// An exception payload that is not an object.
    #[error("exception is not an object")]
    NotAnException,
}

impl BodyError {
    pub(crate) fn at(field: Field) -> impl FnOnce(DecodeError) -> Self {
        move |source| Self::Decode { field, source }
    }

    /// Whether the bytes themselves were bad (as opposed to a well-formed body that does not
    /// match the types asked for).
    pub fn is_malformed(&self) -> bool {
        match self {
            Self::Decode { source, .. } => source.is_malformed(),
            Self::UnknownResultFlag(_) | Self::NotAnException => true,
            Self::Descriptor(_) | Self::TooManyParameters | Self::ArgumentCount { .. } => false,
        }
    }
}
