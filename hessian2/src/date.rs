//! `java.util.Date` as Rust time types: [`Date`] ↔ [`SystemTime`] (and, with the crate
//! features `chrono` and `time`, `chrono::DateTime<Utc>` and `time::OffsetDateTime`), and
//! serde `with` modules that write any of them as a Java `Date`.
//!
//! A Java `Date` is a count of milliseconds since 1970-01-01T00:00:00Z. Rust times hold
//! finer instants; converting one to a `Date` rounds it **down to the millisecond, toward
//! the past**, as Java's `Date.from(Instant)` does (`Instant.toEpochMilli` floors): 0.9 ms
//! after the epoch is `Date(0)`, 1 ns before it is `Date(-1)`. A `Date` converts to a Rust
//! time exactly. Instants outside the other type's range fail with [`DateRangeError`]
//! (a `SystemTime` millions of years away, a `Date` beyond `OffsetDateTime`'s ±9999
//! years), never wrap.
//!
//! ```
//! use std::time::{Duration, SystemTime, UNIX_EPOCH};
//! use serde::{Deserialize, Serialize};
//! use tether_hessian2::{Date, from_slice, to_vec};
//!
//! // A Java POJO with a `java.util.Date created` and a nullable `Date shipped`.
//! #[derive(Serialize, Deserialize, PartialEq, Debug)]
//! #[serde(rename = "com.example.order.Order")]
//! struct Order {
//!     #[serde(with = "tether_hessian2::date")]
//!     created: SystemTime,
//!     #[serde(with = "tether_hessian2::date::option")]
//!     shipped: Option<SystemTime>,
//! }
//!
//! let created = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
//! let order = Order { created, shipped: None };
//! assert_eq!(from_slice::<Order>(&to_vec(&order)?)?, order);
//!
//! // As a value of its own (a method argument): `Date`.
//! let date = Date::try_from(created)?;
//! assert_eq!(date, Date(1_700_000_000_123));
//! assert_eq!(SystemTime::try_from(date)?, created);
//! // Sub-millisecond parts are dropped, toward the past.
//! assert_eq!(Date::try_from(created + Duration::from_micros(999))?, date);
//! assert_eq!(Date::try_from(UNIX_EPOCH - Duration::from_nanos(1))?, Date(-1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::java::Date;

/// A time outside the range of the type it was converted to.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("time outside the range of {target}")]
pub struct DateRangeError {
    target: &'static str,
}

impl DateRangeError {
    fn of(target: &'static str) -> Self {
        Self { target }
    }

    /// The type the time did not fit: `"java.util.Date"`, `"SystemTime"`...
    pub fn target(&self) -> &'static str {
        self.target
    }
}

const NANOS_PER_MILLI: i128 = 1_000_000;

impl Date {
    /// The date `millis` milliseconds after the Unix epoch (before it if negative).
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch (negative before it): Java's `Date.getTime()`.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The date of an instant given in nanoseconds since the epoch, rounded down to the
    /// millisecond (toward the past, as Java's `Instant.toEpochMilli`).
    fn from_nanos(nanos: i128) -> Result<Self, DateRangeError> {
        i64::try_from(nanos.div_euclid(NANOS_PER_MILLI))
            .map(Self)
            .map_err(|_| DateRangeError::of("java.util.Date"))
    }

    /// Nanoseconds since the epoch.
    #[cfg(feature = "time")]
    fn nanos(self) -> i128 {
        i128::from(self.0) * NANOS_PER_MILLI
    }
}

/// Rounds down to the millisecond (see the [module docs](self)).
impl TryFrom<SystemTime> for Date {
    type Error = DateRangeError;

    fn try_from(time: SystemTime) -> Result<Self, DateRangeError> {
        let nanos = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i128::try_from(after.as_nanos()),
            Err(before) => i128::try_from(before.duration().as_nanos()).map(|n| -n),
        };
        nanos
            .map_err(|_| DateRangeError::of("java.util.Date"))
            .and_then(Date::from_nanos)
    }
}

/// Exact; fails only where the platform's `SystemTime` cannot hold the date.
impl TryFrom<Date> for SystemTime {
    type Error = DateRangeError;

    fn try_from(date: Date) -> Result<Self, DateRangeError> {
        let offset = Duration::from_millis(date.0.unsigned_abs());
        let time = if date.0 >= 0 {
            UNIX_EPOCH.checked_add(offset)
        } else {
            UNIX_EPOCH.checked_sub(offset)
        };
        time.ok_or(DateRangeError::of("SystemTime"))
    }
}

#[cfg(feature = "chrono")]
mod chrono_impls {
    use chrono::{DateTime, Utc};

    use super::{Date, DateRangeError};

    /// Rounds down to the millisecond (see the [module docs](super)); always in range.
    impl From<DateTime<Utc>> for Date {
        fn from(time: DateTime<Utc>) -> Self {
            // `timestamp_millis` floors: its sub-second part is never negative.
            Date(time.timestamp_millis())
        }
    }

    /// Exact; fails beyond chrono's range (about ±262 000 years).
    impl TryFrom<Date> for DateTime<Utc> {
        type Error = DateRangeError;

        fn try_from(date: Date) -> Result<Self, DateRangeError> {
            DateTime::from_timestamp_millis(date.0).ok_or(DateRangeError::of("chrono::DateTime"))
        }
    }
}

#[cfg(feature = "time")]
mod time_impls {
    use time::OffsetDateTime;

    use super::{Date, DateRangeError};

    /// Rounds down to the millisecond (see the [module docs](super)); the offset is
    /// dropped (a `Date` is an instant).
    impl TryFrom<OffsetDateTime> for Date {
        type Error = DateRangeError;

        fn try_from(time: OffsetDateTime) -> Result<Self, DateRangeError> {
            Date::from_nanos(time.unix_timestamp_nanos())
        }
    }

    /// Exact, in UTC; fails beyond `time`'s range (±9999 years without its `large-dates`
    /// feature).
    impl TryFrom<Date> for OffsetDateTime {
        type Error = DateRangeError;

        fn try_from(date: Date) -> Result<Self, DateRangeError> {
            OffsetDateTime::from_unix_timestamp_nanos(date.nanos())
                .map_err(|_| DateRangeError::of("time::OffsetDateTime"))
        }
    }
}

/// A Rust time that travels as a `java.util.Date` through the [`date`](self) serde modules:
/// [`Date`], [`SystemTime`], and with the crate features `chrono::DateTime<Utc>` and
/// `time::OffsetDateTime`.
pub trait AsDate: Sized {
    /// The `Date`, rounded down to the millisecond.
    fn to_date(&self) -> Result<Date, DateRangeError>;

    /// The time of a `Date`.
    fn from_date(date: Date) -> Result<Self, DateRangeError>;
}

impl AsDate for Date {
    fn to_date(&self) -> Result<Date, DateRangeError> {
        Ok(*self)
    }

    fn from_date(date: Date) -> Result<Self, DateRangeError> {
        Ok(date)
    }
}

impl AsDate for SystemTime {
    fn to_date(&self) -> Result<Date, DateRangeError> {
        Date::try_from(*self)
    }

    fn from_date(date: Date) -> Result<Self, DateRangeError> {
        SystemTime::try_from(date)
    }
}

#[cfg(feature = "chrono")]
impl AsDate for chrono::DateTime<chrono::Utc> {
    fn to_date(&self) -> Result<Date, DateRangeError> {
        Ok(Date::from(*self))
    }

    fn from_date(date: Date) -> Result<Self, DateRangeError> {
        Self::try_from(date)
    }
}

#[cfg(feature = "time")]
impl AsDate for time::OffsetDateTime {
    fn to_date(&self) -> Result<Date, DateRangeError> {
        Date::try_from(*self)
    }

    fn from_date(date: Date) -> Result<Self, DateRangeError> {
        Self::try_from(date)
    }
}

/// Writes `time` as a `java.util.Date` (`#[serde(with = "tether_hessian2::date")]`).
pub fn serialize<T: AsDate, S: Serializer>(time: &T, serializer: S) -> Result<S::Ok, S::Error> {
    time.to_date()
        .map_err(serde::ser::Error::custom)?
        .serialize(serializer)
}

/// Reads a `java.util.Date` as a `T` (`#[serde(with = "tether_hessian2::date")]`).
pub fn deserialize<'de, T: AsDate, D: Deserializer<'de>>(deserializer: D) -> Result<T, D::Error> {
    T::from_date(Date::deserialize(deserializer)?).map_err(serde::de::Error::custom)
}

/// A nullable `java.util.Date` as an `Option` of a Rust time
/// (`#[serde(with = "tether_hessian2::date::option")]`): null is `None`.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{AsDate, Date};

    /// Writes `Some(time)` as a `java.util.Date`, `None` as null.
    pub fn serialize<T: AsDate, S: Serializer>(
        time: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => super::serialize(time, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Reads a `java.util.Date` or null.
    pub fn deserialize<'de, T: AsDate, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        Option::<Date>::deserialize(deserializer)?
            .map(T::from_date)
            .transpose()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::hex;
    use crate::{Value, from_slice, from_value, to_value, to_vec};

    fn at(millis: i64, extra_nanos: u32) -> SystemTime {
        SystemTime::try_from(Date(millis)).unwrap() + Duration::from_nanos(extra_nanos.into())
    }

    #[test]
    fn system_time_rounds_down_to_the_millisecond_as_java_does() {
        // Instant.ofEpochSecond(0, n).toEpochMilli() for these n: 0, 0, 1; and before the
        // epoch: -1 ns is -1 ms, -1 ms - 1 ns is -2 ms (floor, not toward zero).
        for (time, millis) in [
            (UNIX_EPOCH, 0),
            (at(0, 999_999), 0),
            (at(1, 0), 1),
            (UNIX_EPOCH - Duration::from_nanos(1), -1),
            (UNIX_EPOCH - Duration::from_millis(1), -1),
            (UNIX_EPOCH - Duration::from_nanos(1_000_001), -2),
            (at(1_700_000_000_123, 456_789), 1_700_000_000_123),
            (at(-1_700_000_000_123, 456_789), -1_700_000_000_123),
        ] {
            assert_eq!(Date::try_from(time), Ok(Date(millis)), "{time:?}");
        }
        // Back exactly, before and after the epoch.
        for millis in [
            0,
            1,
            -1,
            1_700_000_000_123,
            -86_400_000 * 365 * 300,
            253_402_300_799_999,
        ] {
            let time = SystemTime::try_from(Date(millis)).unwrap();
            assert_eq!(Date::try_from(time), Ok(Date(millis)));
        }
        // A Date as far as Java allows is still a SystemTime on this platform.
        for millis in [i64::MIN, i64::MAX] {
            let time = SystemTime::try_from(Date(millis)).unwrap();
            assert_eq!(Date::try_from(time), Ok(Date(millis)));
        }
        // A SystemTime beyond any Date.
        let far = UNIX_EPOCH + Duration::from_secs(i64::MAX as u64 / 1000 + 1);
        let err = Date::try_from(far).unwrap_err();
        assert_eq!(err.target(), "java.util.Date");
        assert_eq!(err.to_string(), "time outside the range of java.util.Date");
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    #[serde(rename = "O")]
    struct O {
        #[serde(with = "crate::date")]
        at: SystemTime,
        #[serde(with = "crate::date::option")]
        maybe: Option<SystemTime>,
    }

    #[test]
    fn with_modules_write_java_dates() {
        let o = O {
            at: at(60_000, 0),
            maybe: Some(at(-1, 0)),
        };
        let bytes = to_vec(&o).unwrap();
        // 'K' is the compact (minutes) form Java writes for whole minutes, 'J' the full one.
        assert!(bytes.ends_with(&hex("4b 00 00 00 01 4a ff ff ff ff ff ff ff ff")));
        assert_eq!(from_slice::<O>(&bytes).unwrap(), o);
        let value = to_value(&o).unwrap();
        assert_eq!(value.get("at"), Some(&Value::Date(60_000)));
        assert_eq!(from_value::<O>(value).unwrap(), o);
        let none = O {
            at: at(0, 999_999),
            maybe: None,
        };
        let back = from_slice::<O>(&to_vec(&none).unwrap()).unwrap();
        assert_eq!(back.at, UNIX_EPOCH, "sub-millisecond parts are dropped");
        assert_eq!(back.maybe, None);
        // A Date and a SystemTime field read the same bytes.
        assert_eq!(
            from_slice::<Date>(&hex("4a ff ff ff ff ff ff ff ff")).unwrap(),
            Date(-1)
        );
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn chrono_date_times() {
        use chrono::{DateTime, TimeZone, Utc};
        let t = Utc.with_ymd_and_hms(1969, 12, 31, 23, 59, 59).unwrap()
            + chrono::Duration::nanoseconds(999_999_999);
        assert_eq!(Date::from(t), Date(-1));
        let t = Utc.timestamp_opt(1_700_000_000, 123_999_999).unwrap();
        assert_eq!(Date::from(t), Date(1_700_000_000_123));
        let back = DateTime::<Utc>::try_from(Date(1_700_000_000_123)).unwrap();
        assert_eq!(back.timestamp_subsec_nanos(), 123_000_000);
        assert!(DateTime::<Utc>::try_from(Date(i64::MAX)).is_err());
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct C {
            #[serde(with = "crate::date")]
            at: DateTime<Utc>,
            #[serde(with = "crate::date::option")]
            maybe: Option<DateTime<Utc>>,
        }
        let c = C {
            at: back,
            maybe: None,
        };
        assert_eq!(from_slice::<C>(&to_vec(&c).unwrap()).unwrap(), c);
    }

    #[cfg(feature = "time")]
    #[test]
    fn time_offset_date_times() {
        use time::OffsetDateTime;
        let before = OffsetDateTime::UNIX_EPOCH - time::Duration::nanoseconds(1);
        assert_eq!(Date::try_from(before), Ok(Date(-1)));
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_999_999).unwrap();
        assert_eq!(Date::try_from(t), Ok(Date(1_700_000_000_123)));
        let back = OffsetDateTime::try_from(Date(1_700_000_000_123)).unwrap();
        assert_eq!(back.unix_timestamp_nanos(), 1_700_000_000_123_000_000);
        // Beyond year 9999.
        assert!(OffsetDateTime::try_from(Date(i64::MAX)).is_err());
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct T {
            #[serde(with = "crate::date")]
            at: OffsetDateTime,
        }
        let v = T { at: back };
        assert_eq!(from_slice::<T>(&to_vec(&v).unwrap()).unwrap(), v);
    }
}
