/**
 * Local wall-clock fields in the site's time zone, for diurnal load, outdoor temperature and
 * tariff periods. Intl is slow per call, so results are cached per UTC minute.
 */

export interface LocalTime {
  /** 0 = Monday … 6 = Sunday. */
  weekday: number;
  year: number;
  /** 1–12. */
  month: number;
  /** Minutes since local midnight, 0–1439. */
  minuteOfDay: number;
  /** Fractional hour of day, 0–24. */
  hour: number;
  /** Days since the epoch in local time, for per-day variation. */
  dayNumber: number;
}

const WEEKDAYS: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

export class LocalClock {
  private readonly format: Intl.DateTimeFormat;
  private cachedMinute = Number.NaN;
  private cached: LocalTime = { weekday: 0, year: 1970, month: 1, minuteOfDay: 0, hour: 0, dayNumber: 0 };

  constructor(readonly timezone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
    });
  }

  at(ts: number): LocalTime {
    const minute = Math.floor(ts / 60_000);
    if (minute !== this.cachedMinute) {
      this.cachedMinute = minute;
      this.cached = this.compute(ts);
    }
    const secondsInMinute = (ts - minute * 60_000) / 60_000;
    return { ...this.cached, hour: (this.cached.minuteOfDay + secondsInMinute) / 60 };
  }

  private compute(ts: number): LocalTime {
    const parts: Record<string, string> = {};
    for (const p of this.format.formatToParts(new Date(ts))) parts[p.type] = p.value;
    const hour = Number(parts.hour) % 24;
    const minuteOfDay = hour * 60 + Number(parts.minute);
    const year = Number(parts.year);
    const month = Number(parts.month);
    const day = Number(parts.day);
    return {
      weekday: WEEKDAYS[parts.weekday ?? 'Mon'] ?? 0,
      year,
      month,
      minuteOfDay,
      hour: minuteOfDay / 60,
      dayNumber: Math.floor(Date.UTC(year, month - 1, day) / 86_400_000),
    };
  }
}

/** Minutes since midnight for an "HH:MM" string ("24:00" is 1440). */
export function parseHhmm(text: string): number {
  const [h, m] = text.split(':');
  return Number(h) * 60 + Number(m);
}

/** Whether a minute of day falls in [from, to), wrapping past midnight when to ≤ from. */
export function inDailyWindow(minuteOfDay: number, from: number, to: number): boolean {
  if (from === to) return false;
  return from < to ? minuteOfDay >= from && minuteOfDay < to : minuteOfDay >= from || minuteOfDay < to;
}
