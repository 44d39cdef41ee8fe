/**
 * The names of the IANA time zone database, as `spec.timezone` must spell them: every Zone and
 * Link of tzdata 2025b with the `backward` links (`US/Eastern`, `Asia/Calcutta`), 597 names,
 * the same as the files of /usr/share/zoneinfo on a Debian host with that release. `Factory` is
 * left out: it is not a place and ICU does not know it. Taken from tzdata.zi (`Z` and `L`
 * lines); add the names a later tzdata release adds. Until then a manifest may still name a
 * newer zone by the name the runtime's ICU data lists as its own (see timeZoneProblem).
 *
 * Shipped with the product because the check must give the same answer on every agent: Windows
 * has no zoneinfo directory, and ICU accepts more than the database (case-insensitive lookup,
 * `US/Pacific-New` removed in 2020b, `SystemV/AST4`, `PST`, `IST`), names that systemd's
 * `OnCalendar=` and the `TZ` of cron and glibc cannot read.
 */

import { canonicalTimeZone } from './zone.js';

/** Names by area (the part before the last `/`; `''` for names without one). */
const AREAS: Readonly<Record<string, string>> = {
  '':
    'CET CST6CDT Cuba EET EST EST5EDT Egypt Eire GB GB-Eire GMT GMT+0 GMT-0 GMT0 Greenwich HST Hongkong ' +
    'Iceland Iran Israel Jamaica Japan Kwajalein Libya MET MST MST7MDT NZ NZ-CHAT Navajo PRC PST8PDT ' +
    'Poland Portugal ROC ROK Singapore Turkey UCT UTC Universal W-SU WET Zulu',
  Africa:
    'Abidjan Accra Addis_Ababa Algiers Asmara Asmera Bamako Bangui Banjul Bissau Blantyre Brazzaville ' +
    'Bujumbura Cairo Casablanca Ceuta Conakry Dakar Dar_es_Salaam Djibouti Douala El_Aaiun Freetown ' +
    'Gaborone Harare Johannesburg Juba Kampala Khartoum Kigali Kinshasa Lagos Libreville Lome Luanda ' +
    'Lubumbashi Lusaka Malabo Maputo Maseru Mbabane Mogadishu Monrovia Nairobi Ndjamena Niamey Nouakchott ' +
    'Ouagadougou Porto-Novo Sao_Tome Timbuktu Tripoli Tunis Windhoek',
  America:
    'Adak Anchorage Anguilla Antigua Araguaina Aruba Asuncion Atikokan Atka Bahia Bahia_Banderas Barbados ' +
    'Belem Belize Blanc-Sablon Boa_Vista Bogota Boise Buenos_Aires Cambridge_Bay Campo_Grande Cancun ' +
    'Caracas Catamarca Cayenne Cayman Chicago Chihuahua Ciudad_Juarez Coral_Harbour Cordoba Costa_Rica ' +
    'Coyhaique Creston Cuiaba Curacao Danmarkshavn Dawson Dawson_Creek Denver Detroit Dominica Edmonton ' +
    'Eirunepe El_Salvador Ensenada Fort_Nelson Fort_Wayne Fortaleza Glace_Bay Godthab Goose_Bay ' +
    'Grand_Turk Grenada Guadeloupe Guatemala Guayaquil Guyana Halifax Havana Hermosillo Indianapolis ' +
    'Inuvik Iqaluit Jamaica Jujuy Juneau Knox_IN Kralendijk La_Paz Lima Los_Angeles Louisville ' +
    'Lower_Princes Maceio Managua Manaus Marigot Martinique Matamoros Mazatlan Mendoza Menominee Merida ' +
    'Metlakatla Mexico_City Miquelon Moncton Monterrey Montevideo Montreal Montserrat Nassau New_York ' +
    'Nipigon Nome Noronha Nuuk Ojinaga Panama Pangnirtung Paramaribo Phoenix Port-au-Prince Port_of_Spain ' +
    'Porto_Acre Porto_Velho Puerto_Rico Punta_Arenas Rainy_River Rankin_Inlet Recife Regina Resolute ' +
    'Rio_Branco Rosario Santa_Isabel Santarem Santiago Santo_Domingo Sao_Paulo Scoresbysund Shiprock ' +
    'Sitka St_Barthelemy St_Johns St_Kitts St_Lucia St_Thomas St_Vincent Swift_Current Tegucigalpa Thule ' +
    'Thunder_Bay Tijuana Toronto Tortola Vancouver Virgin Whitehorse Winnipeg Yakutat Yellowknife',
  'America/Argentina':
    'Buenos_Aires Catamarca ComodRivadavia Cordoba Jujuy La_Rioja Mendoza Rio_Gallegos Salta San_Juan ' +
    'San_Luis Tucuman Ushuaia',
  'America/Indiana':
    'Indianapolis Knox Marengo Petersburg Tell_City Vevay Vincennes Winamac',
  'America/Kentucky':
    'Louisville Monticello',
  'America/North_Dakota':
    'Beulah Center New_Salem',
  Antarctica:
    'Casey Davis DumontDUrville Macquarie Mawson McMurdo Palmer Rothera South_Pole Syowa Troll Vostok',
  Arctic:
    'Longyearbyen',
  Asia:
    'Aden Almaty Amman Anadyr Aqtau Aqtobe Ashgabat Ashkhabad Atyrau Baghdad Bahrain Baku Bangkok Barnaul ' +
    'Beirut Bishkek Brunei Calcutta Chita Choibalsan Chongqing Chungking Colombo Dacca Damascus Dhaka ' +
    'Dili Dubai Dushanbe Famagusta Gaza Harbin Hebron Ho_Chi_Minh Hong_Kong Hovd Irkutsk Istanbul Jakarta ' +
    'Jayapura Jerusalem Kabul Kamchatka Karachi Kashgar Kathmandu Katmandu Khandyga Kolkata Krasnoyarsk ' +
    'Kuala_Lumpur Kuching Kuwait Macao Macau Magadan Makassar Manila Muscat Nicosia Novokuznetsk ' +
    'Novosibirsk Omsk Oral Phnom_Penh Pontianak Pyongyang Qatar Qostanay Qyzylorda Rangoon Riyadh Saigon ' +
    'Sakhalin Samarkand Seoul Shanghai Singapore Srednekolymsk Taipei Tashkent Tbilisi Tehran Tel_Aviv ' +
    'Thimbu Thimphu Tokyo Tomsk Ujung_Pandang Ulaanbaatar Ulan_Bator Urumqi Ust-Nera Vientiane ' +
    'Vladivostok Yakutsk Yangon Yekaterinburg Yerevan',
  Atlantic:
    'Azores Bermuda Canary Cape_Verde Faeroe Faroe Jan_Mayen Madeira Reykjavik South_Georgia St_Helena ' +
    'Stanley',
  Australia:
    'ACT Adelaide Brisbane Broken_Hill Canberra Currie Darwin Eucla Hobart LHI Lindeman Lord_Howe ' +
    'Melbourne NSW North Perth Queensland South Sydney Tasmania Victoria West Yancowinna',
  Brazil:
    'Acre DeNoronha East West',
  Canada:
    'Atlantic Central Eastern Mountain Newfoundland Pacific Saskatchewan Yukon',
  Chile:
    'Continental EasterIsland',
  Etc:
    'GMT GMT+0 GMT+1 GMT+10 GMT+11 GMT+12 GMT+2 GMT+3 GMT+4 GMT+5 GMT+6 GMT+7 GMT+8 GMT+9 GMT-0 GMT-1 ' +
    'GMT-10 GMT-11 GMT-12 GMT-13 GMT-14 GMT-2 GMT-3 GMT-4 GMT-5 GMT-6 GMT-7 GMT-8 GMT-9 GMT0 Greenwich ' +
    'UCT UTC Universal Zulu',
  Europe:
    'Amsterdam Andorra Astrakhan Athens Belfast Belgrade Berlin Bratislava Brussels Bucharest Budapest ' +
    'Busingen Chisinau Copenhagen Dublin Gibraltar Guernsey Helsinki Isle_of_Man Istanbul Jersey ' +
    'Kaliningrad Kiev Kirov Kyiv Lisbon Ljubljana London Luxembourg Madrid Malta Mariehamn Minsk Monaco ' +
    'Moscow Nicosia Oslo Paris Podgorica Prague Riga Rome Samara San_Marino Sarajevo Saratov Simferopol ' +
    'Skopje Sofia Stockholm Tallinn Tirane Tiraspol Ulyanovsk Uzhgorod Vaduz Vatican Vienna Vilnius ' +
    'Volgograd Warsaw Zagreb Zaporozhye Zurich',
  Indian:
    'Antananarivo Chagos Christmas Cocos Comoro Kerguelen Mahe Maldives Mauritius Mayotte Reunion',
  Mexico:
    'BajaNorte BajaSur General',
  Pacific:
    'Apia Auckland Bougainville Chatham Chuuk Easter Efate Enderbury Fakaofo Fiji Funafuti Galapagos ' +
    'Gambier Guadalcanal Guam Honolulu Johnston Kanton Kiritimati Kosrae Kwajalein Majuro Marquesas ' +
    'Midway Nauru Niue Norfolk Noumea Pago_Pago Palau Pitcairn Pohnpei Ponape Port_Moresby Rarotonga ' +
    'Saipan Samoa Tahiti Tarawa Tongatapu Truk Wake Wallis Yap',
  US:
    'Alaska Aleutian Arizona Central East-Indiana Eastern Hawaii Indiana-Starke Michigan Mountain Pacific ' +
    'Samoa',
};

let names: ReadonlySet<string> | undefined;
let byLowerCase: ReadonlyMap<string, string> | undefined;

/** Every name of the database (see the module comment), built on first use. */
export function ianaZoneNames(): ReadonlySet<string> {
  names ??= new Set(Object.entries(AREAS).flatMap(([area, leaves]) => leaves.split(' ').map((leaf) => (area ? `${area}/${leaf}` : leaf))));
  return names;
}

/** True when `name` is a zone or link of the IANA time zone database, spelled exactly (case included). */
export function isIanaZoneName(name: string): boolean {
  return ianaZoneNames().has(name);
}

/**
 * The database's spelling of a name that differs from one of its names only in letter case
 * (`europe/berlin` -> `Europe/Berlin`); undefined for an exact name or an unknown one.
 */
export function ianaSpellingOf(name: string): string | undefined {
  byLowerCase ??= new Map([...ianaZoneNames()].map((n) => [n.toLowerCase(), n]));
  const spelled = typeof name === 'string' ? byLowerCase.get(name.toLowerCase()) : undefined;
  return spelled === name ? undefined : spelled;
}

/**
 * Why a manifest may not name `zone` (rule `timezone`), as one message with the name meant
 * where it is clear (`unknown time zone "europe/berlin" (did you mean "Europe/Berlin"?)`); null
 * for a name it may. It may name a zone of the IANA time zone database spelled exactly, case
 * included (zone-names.ts, or a name the runtime's ICU data lists as its own, for zones newer
 * than that list), that the runtime can evaluate. ICU itself reads more (`europe/berlin`,
 * `US/Pacific-New`, `PST`), but systemd's `OnCalendar=` and the `TZ` of cron read such a name
 * as no zone at all.
 */
export function timeZoneProblem(zone: string): string | null {
  if (canonicalTimeZone(zone) !== null && (isIanaZoneName(zone) || icuZoneNames().has(zone))) return null;
  const spelled = ianaSpellingOf(zone);
  if (spelled !== undefined && canonicalTimeZone(spelled) !== null) return `unknown time zone "${zone}" (did you mean "${spelled}"?)`;
  if (isIanaZoneName(zone)) return `unknown time zone "${zone}" (this runtime's time-zone data does not know it yet)`;
  const alias = icuName(zone);
  if (alias !== null) {
    const meant = alias !== zone && (isIanaZoneName(alias) || icuZoneNames().has(alias)) ? `; did you mean "${alias}"?` : '';
    return `unknown time zone "${zone}" (not a name of the IANA time zone database, which systemd and cron read${meant})`;
  }
  return `unknown time zone "${zone}" (use an IANA name such as UTC or America/New_York)`;
}

let icuNames: ReadonlySet<string> | undefined;
/** The names ICU lists as its own (exact spelling): tzdata names, maybe newer than zone-names.ts. */
function icuZoneNames(): ReadonlySet<string> {
  return (icuNames ??= new Set(Intl.supportedValuesOf('timeZone')));
}

/** ICU's name for a string it accepts as a zone (more than the database has), else null. Uncached: errors only. */
function icuName(zone: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}
