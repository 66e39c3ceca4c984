/* time.Time as templates see StartTime: the civil date in a zone, the process's local zone, and
 * Format with Go's layout strings (Go 1.19's nextStdChunk elements). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rules/template_impl.h"

const char *const tmpl_time_month_names[12] = {"January",   "February", "March",    "April",
                                               "May",       "June",     "July",     "August",
                                               "September", "October",  "November", "December"};
const char *const tmpl_time_day_names[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                            "Thursday", "Friday", "Saturday"};

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void tmpl_time_civil(const struct tval *t, struct tmpl_time_civil *c)
{
    int64_t secs = floor_div(t->ns, 1000000000) + t->offset;
    c->nanosecond = (int)(t->ns - floor_div(t->ns, 1000000000) * 1000000000);
    int64_t days = floor_div(secs, 86400);
    int64_t sod = secs - days * 86400;
    c->hour = (int)(sod / 3600);
    c->minute = (int)(sod / 60 % 60);
    c->second = (int)(sod % 60);
    c->weekday = (int)(((days + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    /* Howard Hinnant's civil_from_days. */
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    c->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c->month = (int)(mp < 10 ? mp + 3 : mp - 9);
    c->year = yoe + era * 400 + (c->month <= 2);
    static const int before[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    bool leap = (c->year % 4 == 0 && c->year % 100 != 0) || c->year % 400 == 0;
    c->yearday = before[c->month - 1] + c->day + (leap && c->month > 2);
}

struct tval tmpl_time_local(const struct tval *t)
{
    struct tval local = *t;
    local.local = true;
    local.dst = false;
    time_t secs = (time_t)floor_div(t->ns, 1000000000);
    struct tm tm;
    if (localtime_r(&secs, &tm) == NULL) {
        local.offset = 0;
        local.zone = "UTC";
        return local;
    }
    local.offset = (int32_t)tm.tm_gmtoff;
    local.zone = tm.tm_zone ? tm.tm_zone : "";
    local.dst = tm.tm_isdst > 0;
    return local;
}

static void put_int(struct strbuf *out, int64_t v, int width)
{
    if (v < 0) {
        strbuf_putc(out, '-');
        v = -v;
    }
    strbuf_printf(out, "%0*lld", width, (long long)v);
}

enum std {
    STD_NONE,
    STD_LONG_MONTH,
    STD_MONTH,
    STD_NUM_MONTH,
    STD_ZERO_MONTH,
    STD_LONG_WEEKDAY,
    STD_WEEKDAY,
    STD_DAY,
    STD_UNDER_DAY,
    STD_ZERO_DAY,
    STD_HOUR,
    STD_HOUR12,
    STD_ZERO_HOUR12,
    STD_MINUTE,
    STD_ZERO_MINUTE,
    STD_SECOND,
    STD_ZERO_SECOND,
    STD_LONG_YEAR,
    STD_YEAR,
    STD_PM,
    STD_pm,
    STD_TZ,
    STD_ISO_TZ,         /* Z0700 */
    STD_ISO_SECONDS_TZ, /* Z070000 */
    STD_ISO_SHORT_TZ,   /* Z07 */
    STD_ISO_COLON_TZ,   /* Z07:00 */
    STD_ISO_COLON_SECONDS_TZ,
    STD_NUM_TZ,         /* -0700 */
    STD_NUM_SECONDS_TZ, /* -070000 */
    STD_NUM_SHORT_TZ,   /* -07 */
    STD_NUM_COLON_TZ,   /* -07:00 */
    STD_NUM_COLON_SECONDS_TZ,
    STD_FRAC0, /* .000 */
    STD_FRAC9, /* .999 */
};

static bool starts_lower(const char *s, size_t n)
{
    return n > 0 && s[0] >= 'a' && s[0] <= 'z';
}

static bool pre(const char *s, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && memcmp(s, p, k) == 0;
}

/* Go's nextStdChunk (as of Go 1.19): the literal prefix length, the element, and its length. */
static enum std next_std(const char *l, size_t n, size_t *prefix, size_t *elen, int *digits,
                         char *sep)
{
    static const struct {
        const char *text;
        enum std iso, num;
    } zones[] = {
        {"070000", STD_ISO_SECONDS_TZ, STD_NUM_SECONDS_TZ},
        {"07:00:00", STD_ISO_COLON_SECONDS_TZ, STD_NUM_COLON_SECONDS_TZ},
        {"0700", STD_ISO_TZ, STD_NUM_TZ},
        {"07:00", STD_ISO_COLON_TZ, STD_NUM_COLON_TZ},
        {"07", STD_ISO_SHORT_TZ, STD_NUM_SHORT_TZ},
    };
    for (size_t i = 0; i < n; i++) {
        const char *s = l + i;
        size_t r = n - i;
        *prefix = i;
        switch (s[0]) {
        case 'J':
            if (pre(s, r, "January"))
                return *elen = 7, STD_LONG_MONTH;
            if (pre(s, r, "Jan") && !starts_lower(s + 3, r - 3))
                return *elen = 3, STD_MONTH;
            break;
        case 'M':
            if (pre(s, r, "Monday"))
                return *elen = 6, STD_LONG_WEEKDAY;
            if (pre(s, r, "Mon") && !starts_lower(s + 3, r - 3))
                return *elen = 3, STD_WEEKDAY;
            if (pre(s, r, "MST"))
                return *elen = 3, STD_TZ;
            break;
        case '0':
            if (r >= 2 && s[1] >= '1' && s[1] <= '6') {
                static const enum std z[] = {STD_ZERO_MONTH,  STD_ZERO_DAY,    STD_ZERO_HOUR12,
                                             STD_ZERO_MINUTE, STD_ZERO_SECOND, STD_YEAR};
                return *elen = 2, z[s[1] - '1'];
            }
            break;
        case '1':
            if (r >= 2 && s[1] == '5')
                return *elen = 2, STD_HOUR;
            return *elen = 1, STD_NUM_MONTH;
        case '2':
            if (pre(s, r, "2006"))
                return *elen = 4, STD_LONG_YEAR;
            return *elen = 1, STD_DAY;
        case '_':
            if (r >= 2 && s[1] == '2') {
                if (pre(s + 1, r - 1, "2006")) {
                    *prefix = i + 1;
                    return *elen = 4, STD_LONG_YEAR;
                }
                return *elen = 2, STD_UNDER_DAY;
            }
            break;
        case '3':
            return *elen = 1, STD_HOUR12;
        case '4':
            return *elen = 1, STD_MINUTE;
        case '5':
            return *elen = 1, STD_SECOND;
        case 'P':
            if (r >= 2 && s[1] == 'M')
                return *elen = 2, STD_PM;
            break;
        case 'p':
            if (r >= 2 && s[1] == 'm')
                return *elen = 2, STD_pm;
            break;
        case '-':
        case 'Z':
            for (size_t k = 0; k < sizeof(zones) / sizeof(zones[0]); k++)
                if (pre(s + 1, r - 1, zones[k].text)) {
                    *elen = 1 + strlen(zones[k].text);
                    return s[0] == 'Z' ? zones[k].iso : zones[k].num;
                }
            break;
        case '.':
        case ',':
            if (r >= 2 && (s[1] == '0' || s[1] == '9')) {
                size_t j = 1;
                while (j < r && s[j] == s[1])
                    j++;
                if (!(j < r && s[j] >= '0' && s[j] <= '9')) {
                    *digits = (int)(j - 1);
                    *sep = s[0];
                    *elen = j;
                    return s[1] == '0' ? STD_FRAC0 : STD_FRAC9;
                }
            }
            break;
        default:
            break;
        }
    }
    *prefix = n;
    *elen = 0;
    return STD_NONE;
}

static void put_zone(struct strbuf *out, enum std std, int32_t offset)
{
    bool iso = std >= STD_ISO_TZ && std <= STD_ISO_COLON_SECONDS_TZ;
    if (iso && offset == 0) {
        strbuf_putc(out, 'Z');
        return;
    }
    int32_t zone = offset / 60;
    int32_t abs_off = offset < 0 ? -offset : offset;
    strbuf_putc(out, zone < 0 ? '-' : '+');
    if (zone < 0)
        zone = -zone;
    strbuf_printf(out, "%02d", zone / 60);
    bool colon = std == STD_ISO_COLON_TZ || std == STD_NUM_COLON_TZ ||
                 std == STD_ISO_COLON_SECONDS_TZ || std == STD_NUM_COLON_SECONDS_TZ;
    if (std == STD_ISO_SHORT_TZ || std == STD_NUM_SHORT_TZ)
        return;
    if (colon)
        strbuf_putc(out, ':');
    strbuf_printf(out, "%02d", zone % 60);
    if (std == STD_ISO_SECONDS_TZ || std == STD_NUM_SECONDS_TZ || std == STD_ISO_COLON_SECONDS_TZ ||
        std == STD_NUM_COLON_SECONDS_TZ) {
        if (colon)
            strbuf_putc(out, ':');
        strbuf_printf(out, "%02d", abs_off % 60);
    }
}

void tmpl_time_format(struct strbuf *out, const struct tval *t, const char *layout, size_t len)
{
    struct tmpl_time_civil c;
    tmpl_time_civil(t, &c);
    while (len > 0) {
        size_t prefix, elen;
        int digits = 0;
        char sep = '.';
        enum std std = next_std(layout, len, &prefix, &elen, &digits, &sep);
        strbuf_append(out, layout, prefix);
        if (std == STD_NONE)
            return;
        layout += prefix + elen;
        len -= prefix + elen;
        int hour12 = c.hour % 12 == 0 ? 12 : c.hour % 12;
        switch (std) {
        case STD_NONE:
            break;
        case STD_LONG_MONTH:
            strbuf_puts(out, tmpl_time_month_names[c.month - 1]);
            break;
        case STD_MONTH:
            strbuf_append(out, tmpl_time_month_names[c.month - 1], 3);
            break;
        case STD_NUM_MONTH:
            put_int(out, c.month, 0);
            break;
        case STD_ZERO_MONTH:
            put_int(out, c.month, 2);
            break;
        case STD_LONG_WEEKDAY:
            strbuf_puts(out, tmpl_time_day_names[c.weekday]);
            break;
        case STD_WEEKDAY:
            strbuf_append(out, tmpl_time_day_names[c.weekday], 3);
            break;
        case STD_DAY:
            put_int(out, c.day, 0);
            break;
        case STD_UNDER_DAY:
            if (c.day < 10)
                strbuf_putc(out, ' ');
            put_int(out, c.day, 0);
            break;
        case STD_ZERO_DAY:
            put_int(out, c.day, 2);
            break;
        case STD_HOUR:
            put_int(out, c.hour, 2);
            break;
        case STD_HOUR12:
            put_int(out, hour12, 0);
            break;
        case STD_ZERO_HOUR12:
            put_int(out, hour12, 2);
            break;
        case STD_MINUTE:
            put_int(out, c.minute, 0);
            break;
        case STD_ZERO_MINUTE:
            put_int(out, c.minute, 2);
            break;
        case STD_SECOND:
            put_int(out, c.second, 0);
            break;
        case STD_ZERO_SECOND:
            put_int(out, c.second, 2);
            break;
        case STD_LONG_YEAR:
            put_int(out, c.year, 4);
            break;
        case STD_YEAR:
            put_int(out, ((c.year % 100) + 100) % 100, 2);
            break;
        case STD_PM:
            strbuf_puts(out, c.hour >= 12 ? "PM" : "AM");
            break;
        case STD_pm:
            strbuf_puts(out, c.hour >= 12 ? "pm" : "am");
            break;
        case STD_TZ:
            if (t->zone && *t->zone) {
                strbuf_puts(out, t->zone);
            } else {
                put_zone(out, STD_NUM_TZ, t->offset);
            }
            break;
        case STD_FRAC0:
        case STD_FRAC9: {
            char buf[16];
            snprintf(buf, sizeof(buf), "%09d", c.nanosecond);
            int n = digits > 9 ? 9 : digits;
            if (std == STD_FRAC9) {
                while (n > 0 && buf[n - 1] == '0')
                    n--;
                if (n == 0)
                    break;
            }
            strbuf_putc(out, sep);
            strbuf_append(out, buf, (size_t)n);
            break;
        }
        default:
            put_zone(out, std, t->offset);
        }
    }
}

static const char time_string_layout[] = "2006-01-02 15:04:05.999999999 -0700 MST";

void tmpl_time_string(struct strbuf *out, const struct tval *t)
{
    tmpl_time_format(out, t, time_string_layout, strlen(time_string_layout));
}

void tmpl_time_go_string(struct strbuf *out, const struct tval *t)
{
    struct tmpl_time_civil c;
    tmpl_time_civil(t, &c);
    strbuf_printf(out, "time.Date(%lld, time.%s, %d, %d, %d, %d, %d, %s)", (long long)c.year,
                  tmpl_time_month_names[c.month - 1], c.day, c.hour, c.minute, c.second,
                  c.nanosecond, t->local ? "time.Local" : "time.UTC");
}

void tmpl_format_time(unsigned long long ns_since_epoch, struct strbuf *out)
{
    struct tval t = {.kind = TV_TIME, .ns = (int64_t)ns_since_epoch, .zone = "UTC"};
    tmpl_time_format(out, &t, time_string_layout, strlen(time_string_layout));
}
