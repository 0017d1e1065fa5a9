//! Support hours: whether a moment falls outside the team's weekly schedule,
//! in the workspace's time zone.

use app::types::policy::SupportHours;
use chrono::{DateTime, Datelike, Days, NaiveTime, TimeZone, Utc};

fn parse(time: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(time.trim(), "%H:%M").ok()
}

/// Checks the schedule's time zone and times; the error says what is wrong.
pub fn validate(hours: &SupportHours) -> Result<(), String> {
    hours
        .time_zone
        .parse::<chrono_tz::Tz>()
        .map_err(|_| format!("unknown time zone \u{201c}{}\u{201d}", hours.time_zone))?;
    for (open, close) in hours.days.iter().flatten() {
        let (Some(o), Some(c)) = (parse(open), parse(close)) else {
            return Err(format!(
                "times must look like 09:00, not \u{201c}{open}\u{201d}–\u{201c}{close}\u{201d}"
            ));
        };
        if o >= c {
            return Err(format!("{open} is not before {close}"));
        }
    }
    Ok(())
}

/// A day's opening window, unless the team is closed that day.
fn window(hours: &SupportHours, day: chrono::NaiveDate) -> Option<(NaiveTime, NaiveTime)> {
    if hours.holidays.contains(&day) {
        return None;
    }
    let (open, close) = hours.days[day.weekday().num_days_from_monday() as usize].as_ref()?;
    Some((parse(open)?, parse(close)?))
}

/// True when `at` is outside every opening window of its day (a holiday has none).
pub fn outside(hours: &SupportHours, at: DateTime<Utc>) -> bool {
    let Ok(zone) = hours.time_zone.parse::<chrono_tz::Tz>() else {
        return false;
    };
    let local = at.with_timezone(&zone);
    let now = local.time();
    !window(hours, local.date_naive()).is_some_and(|(o, c)| o <= now && now < c)
}

/// When the team opens next after `at` (when it is closed then), looking up
/// to 366 days ahead; `None` when open now or never open.
pub fn next_opening(hours: &SupportHours, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let zone = hours.time_zone.parse::<chrono_tz::Tz>().ok()?;
    if !outside(hours, at) {
        return None;
    }
    let today = at.with_timezone(&zone).date_naive();
    (0..=366).find_map(|ahead| {
        let day = today.checked_add_days(Days::new(ahead))?;
        let (open, _) = window(hours, day)?;
        // An opening time a clock change skips opens at the first minute
        // after the gap (gaps are at most two hours).
        let local = day.and_time(open);
        let opens = (0..=120)
            .find_map(|minute| {
                zone.from_local_datetime(&(local + chrono::Duration::minutes(minute)))
                    .earliest()
            })?
            .with_timezone(&Utc);
        (opens > at).then_some(opens)
    })
}

/// Weekdays 09:00–17:00 in `zone` (for tests).
#[cfg(test)]
pub(crate) fn weekdays_9_to_17(zone: &str) -> SupportHours {
    let day = Some(("09:00".to_owned(), "17:00".to_owned()));
    SupportHours {
        time_zone: zone.into(),
        days: [
            day.clone(),
            day.clone(),
            day.clone(),
            day.clone(),
            day,
            None,
            None,
        ],
        holidays: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn holidays_are_closed_and_the_next_opening_skips_them() {
        let mut hours = weekdays_9_to_17("Europe/Berlin");
        // Thursday 2026-12-24 is a holiday; Friday the 25th too.
        hours.holidays = vec!["2026-12-24".parse().unwrap(), "2026-12-25".parse().unwrap()];
        assert!(outside(&hours, at("2026-12-24T10:00:00Z")));
        assert!(!outside(&hours, at("2026-12-23T10:00:00Z")));
        // Wednesday evening: back Monday the 28th at 09:00 Berlin (08:00 UTC).
        assert_eq!(
            next_opening(&hours, at("2026-12-23T18:00:00Z")),
            Some(at("2026-12-28T08:00:00Z"))
        );
        // Early on a working day: later the same day.
        assert_eq!(
            next_opening(&hours, at("2026-12-22T05:00:00Z")),
            Some(at("2026-12-22T08:00:00Z"))
        );
        // Open now: nothing to wait for.
        assert_eq!(next_opening(&hours, at("2026-12-22T10:00:00Z")), None);
        // An opening time inside the spring-forward gap (Berlin, 2026-03-29:
        // 02:00 → 03:00) opens when the clocks say 03:00, 01:00 UTC.
        let mut night = weekdays_9_to_17("Europe/Berlin");
        night.days[6] = Some(("02:30".into(), "05:00".into()));
        assert_eq!(
            next_opening(&night, at("2026-03-28T20:00:00Z")),
            Some(at("2026-03-29T01:00:00Z"))
        );
        // Never open: no date to promise.
        hours.days = Default::default();
        assert_eq!(next_opening(&hours, at("2026-12-22T10:00:00Z")), None);
    }

    #[test]
    fn follows_the_time_zone_and_the_weekday() {
        let hours = weekdays_9_to_17("Europe/Berlin");
        // Wednesday 2026-11-25 08:30 UTC = 09:30 in Berlin.
        assert!(!outside(&hours, at("2026-11-25T08:30:00Z")));
        assert!(outside(&hours, at("2026-11-25T07:30:00Z")));
        assert!(
            outside(&hours, at("2026-11-25T16:00:00Z")),
            "17:00 is closed"
        );
        assert!(outside(&hours, at("2026-11-28T10:00:00Z")), "Saturday");
        // Summer time: 2026-07-01 07:30 UTC = 09:30 in Berlin.
        assert!(!outside(&hours, at("2026-07-01T07:30:00Z")));
    }

    #[test]
    fn validation_explains() {
        assert!(validate(&weekdays_9_to_17("Europe/Berlin")).is_ok());
        assert!(validate(&weekdays_9_to_17("Mars/Olympus")).is_err());
        let mut hours = weekdays_9_to_17("UTC");
        hours.days[0] = Some(("18:00".into(), "09:00".into()));
        assert!(validate(&hours).unwrap_err().contains("not before"));
    }
}
