//! Support hours: whether a moment falls outside the team's weekly schedule,
//! in the workspace's time zone.

use app::types::policy::SupportHours;
use chrono::{DateTime, Datelike, NaiveTime, Utc};

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

/// True when `at` is outside every opening window of its weekday.
pub fn outside(hours: &SupportHours, at: DateTime<Utc>) -> bool {
    let Ok(zone) = hours.time_zone.parse::<chrono_tz::Tz>() else {
        return false;
    };
    let local = at.with_timezone(&zone);
    let day = local.weekday().num_days_from_monday() as usize;
    let now = local.time();
    !hours.days[day].as_ref().is_some_and(|(open, close)| {
        matches!((parse(open), parse(close)), (Some(o), Some(c)) if o <= now && now < c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weekdays_9_to_17(zone: &str) -> SupportHours {
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
        }
    }

    #[test]
    fn follows_the_time_zone_and_the_weekday() {
        let hours = weekdays_9_to_17("Europe/Berlin");
        // Wednesday 2026-11-25 08:30 UTC = 09:30 in Berlin.
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
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
