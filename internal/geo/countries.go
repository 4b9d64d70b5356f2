package geo

// A Place is where a country is, as far as choosing a nearby mirror goes:
// its continent code and a representative point.
type Place struct {
	Continent string  // AF, AN, AS, EU, NA, OC or SA
	Lat, Lon  float64 // degrees north and east
}

// CountryPlace returns the continent and a representative point of the
// country with the ISO 3166-1 alpha-2 code cc (upper case), for every code
// config accepts. Continent codes follow the GeoIP databases (Turkey,
// Georgia, Armenia and Azerbaijan in Asia; Russia and Cyprus in Europe). The
// point is the rough geographic centre of a small country and, for a large
// one, a point near where most of its people (and so its servers) are:
// Russia's lies between Moscow and the Volga, not in Siberia. It is meant
// for ranking mirrors by distance, to a few hundred kilometres.
func CountryPlace(cc string) (Place, bool) {
	switch cc {
	case "AD":
		return Place{"EU", 42.5, 1.5}, true
	case "AE":
		return Place{"AS", 24.4, 54.4}, true
	case "AF":
		return Place{"AS", 34, 67}, true
	case "AG":
		return Place{"NA", 17.1, -61.8}, true
	case "AI":
		return Place{"NA", 18.2, -63.1}, true
	case "AL":
		return Place{"EU", 41.2, 20}, true
	case "AM":
		return Place{"AS", 40.2, 44.8}, true
	case "AO":
		return Place{"AF", -11, 17.5}, true
	case "AQ":
		return Place{"AN", -75, 0}, true
	case "AR":
		return Place{"SA", -34, -61}, true
	case "AS":
		return Place{"OC", -14.3, -170.7}, true
	case "AT":
		return Place{"EU", 47.6, 14.2}, true
	case "AU":
		return Place{"OC", -33, 147}, true
	case "AW":
		return Place{"NA", 12.5, -70}, true
	case "AX":
		return Place{"EU", 60.2, 20}, true
	case "AZ":
		return Place{"AS", 40.4, 47.7}, true
	case "BA":
		return Place{"EU", 44, 18}, true
	case "BB":
		return Place{"NA", 13.2, -59.5}, true
	case "BD":
		return Place{"AS", 23.7, 90.3}, true
	case "BE":
		return Place{"EU", 50.7, 4.5}, true
	case "BF":
		return Place{"AF", 12.3, -1.6}, true
	case "BG":
		return Place{"EU", 42.7, 25.3}, true
	case "BH":
		return Place{"AS", 26, 50.6}, true
	case "BI":
		return Place{"AF", -3.4, 29.9}, true
	case "BJ":
		return Place{"AF", 8, 2.2}, true
	case "BL":
		return Place{"NA", 17.9, -62.8}, true
	case "BM":
		return Place{"NA", 32.3, -64.8}, true
	case "BN":
		return Place{"AS", 4.5, 114.7}, true
	case "BO":
		return Place{"SA", -17, -65}, true
	case "BQ":
		return Place{"NA", 12.2, -68.3}, true
	case "BR":
		return Place{"SA", -18, -47}, true
	case "BS":
		return Place{"NA", 24.5, -77}, true
	case "BT":
		return Place{"AS", 27.4, 90.4}, true
	case "BV":
		return Place{"AN", -54.4, 3.4}, true
	case "BW":
		return Place{"AF", -22.3, 24.7}, true
	case "BY":
		return Place{"EU", 53.7, 28}, true
	case "BZ":
		return Place{"NA", 17.2, -88.7}, true
	case "CA":
		return Place{"NA", 46, -77}, true
	case "CC":
		return Place{"AS", -12.2, 96.8}, true
	case "CD":
		return Place{"AF", -4, 23}, true
	case "CF":
		return Place{"AF", 6.6, 20.9}, true
	case "CG":
		return Place{"AF", -1, 15.5}, true
	case "CH":
		return Place{"EU", 46.8, 8.2}, true
	case "CI":
		return Place{"AF", 7.5, -5.5}, true
	case "CK":
		return Place{"OC", -21.2, -159.8}, true
	case "CL":
		return Place{"SA", -34, -71}, true
	case "CM":
		return Place{"AF", 5.7, 12.4}, true
	case "CN":
		return Place{"AS", 32, 114}, true
	case "CO":
		return Place{"SA", 5, -74}, true
	case "CR":
		return Place{"NA", 9.9, -84}, true
	case "CU":
		return Place{"NA", 21.8, -79.5}, true
	case "CV":
		return Place{"AF", 15.1, -23.6}, true
	case "CW":
		return Place{"NA", 12.2, -69}, true
	case "CX":
		return Place{"AS", -10.5, 105.7}, true
	case "CY":
		return Place{"EU", 35, 33.2}, true
	case "CZ":
		return Place{"EU", 49.8, 15.5}, true
	case "DE":
		return Place{"EU", 51, 10}, true
	case "DJ":
		return Place{"AF", 11.8, 42.6}, true
	case "DK":
		return Place{"EU", 55.7, 10.5}, true
	case "DM":
		return Place{"NA", 15.4, -61.4}, true
	case "DO":
		return Place{"NA", 18.8, -70.2}, true
	case "DZ":
		return Place{"AF", 35, 3}, true
	case "EC":
		return Place{"SA", -1.5, -78.5}, true
	case "EE":
		return Place{"EU", 58.7, 25.5}, true
	case "EG":
		return Place{"AF", 30, 31}, true
	case "EH":
		return Place{"AF", 24.5, -13}, true
	case "ER":
		return Place{"AF", 15.2, 39.8}, true
	case "ES":
		return Place{"EU", 40.2, -3.7}, true
	case "ET":
		return Place{"AF", 9, 39.5}, true
	case "FI":
		return Place{"EU", 62, 25.5}, true
	case "FJ":
		return Place{"OC", -17.8, 178}, true
	case "FK":
		return Place{"SA", -51.8, -59.5}, true
	case "FM":
		return Place{"OC", 6.9, 158.2}, true
	case "FO":
		return Place{"EU", 62, -6.9}, true
	case "FR":
		return Place{"EU", 46.6, 2.4}, true
	case "GA":
		return Place{"AF", -0.8, 11.6}, true
	case "GB":
		return Place{"EU", 52.8, -1.6}, true
	case "GD":
		return Place{"NA", 12.1, -61.7}, true
	case "GE":
		return Place{"AS", 42.2, 43.5}, true
	case "GF":
		return Place{"SA", 4.5, -53}, true
	case "GG":
		return Place{"EU", 49.5, -2.6}, true
	case "GH":
		return Place{"AF", 7, -1.2}, true
	case "GI":
		return Place{"EU", 36.1, -5.4}, true
	case "GL":
		return Place{"NA", 64.2, -51.7}, true
	case "GM":
		return Place{"AF", 13.4, -15.4}, true
	case "GN":
		return Place{"AF", 10.4, -11}, true
	case "GP":
		return Place{"NA", 16.2, -61.6}, true
	case "GQ":
		return Place{"AF", 1.6, 10.3}, true
	case "GR":
		return Place{"EU", 38.5, 23}, true
	case "GS":
		return Place{"AN", -54.4, -36.6}, true
	case "GT":
		return Place{"NA", 15, -90.4}, true
	case "GU":
		return Place{"OC", 13.4, 144.8}, true
	case "GW":
		return Place{"AF", 12, -15}, true
	case "GY":
		return Place{"SA", 6.2, -58.5}, true
	case "HK":
		return Place{"AS", 22.3, 114.2}, true
	case "HM":
		return Place{"AN", -53.1, 73.5}, true
	case "HN":
		return Place{"NA", 14.8, -86.6}, true
	case "HR":
		return Place{"EU", 45.5, 16}, true
	case "HT":
		return Place{"NA", 19, -72.5}, true
	case "HU":
		return Place{"EU", 47.2, 19.5}, true
	case "ID":
		return Place{"AS", -6.5, 110}, true
	case "IE":
		return Place{"EU", 53.2, -7.7}, true
	case "IL":
		return Place{"AS", 32, 34.9}, true
	case "IM":
		return Place{"EU", 54.2, -4.5}, true
	case "IN":
		return Place{"AS", 23, 79}, true
	case "IO":
		return Place{"AS", -6, 71.5}, true
	case "IQ":
		return Place{"AS", 33.3, 44}, true
	case "IR":
		return Place{"AS", 33, 52}, true
	case "IS":
		return Place{"EU", 64.5, -21}, true
	case "IT":
		return Place{"EU", 42.8, 12.6}, true
	case "JE":
		return Place{"EU", 49.2, -2.1}, true
	case "JM":
		return Place{"NA", 18.1, -77.3}, true
	case "JO":
		return Place{"AS", 31.5, 36}, true
	case "JP":
		return Place{"AS", 35.5, 137}, true
	case "KE":
		return Place{"AF", -0.5, 37}, true
	case "KG":
		return Place{"AS", 41.5, 74.5}, true
	case "KH":
		return Place{"AS", 12, 104.8}, true
	case "KI":
		return Place{"OC", 1.4, 173}, true
	case "KM":
		return Place{"AF", -11.9, 43.9}, true
	case "KN":
		return Place{"NA", 17.3, -62.7}, true
	case "KP":
		return Place{"AS", 39.5, 126.5}, true
	case "KR":
		return Place{"AS", 36.5, 127.5}, true
	case "KW":
		return Place{"AS", 29.3, 47.8}, true
	case "KY":
		return Place{"NA", 19.3, -81.3}, true
	case "KZ":
		return Place{"AS", 47, 70}, true
	case "LA":
		return Place{"AS", 18, 103}, true
	case "LB":
		return Place{"AS", 33.9, 35.7}, true
	case "LC":
		return Place{"NA", 13.9, -61}, true
	case "LI":
		return Place{"EU", 47.2, 9.6}, true
	case "LK":
		return Place{"AS", 7.5, 80.5}, true
	case "LR":
		return Place{"AF", 6.5, -9.5}, true
	case "LS":
		return Place{"AF", -29.5, 28}, true
	case "LT":
		return Place{"EU", 55.2, 24}, true
	case "LU":
		return Place{"EU", 49.7, 6.1}, true
	case "LV":
		return Place{"EU", 56.9, 24.5}, true
	case "LY":
		return Place{"AF", 31, 16}, true
	case "MA":
		return Place{"AF", 33, -6.5}, true
	case "MC":
		return Place{"EU", 43.7, 7.4}, true
	case "MD":
		return Place{"EU", 47.2, 28.6}, true
	case "ME":
		return Place{"EU", 42.6, 19.3}, true
	case "MF":
		return Place{"NA", 18.1, -63.1}, true
	case "MG":
		return Place{"AF", -19, 47}, true
	case "MH":
		return Place{"OC", 7.1, 171.2}, true
	case "MK":
		return Place{"EU", 41.7, 21.7}, true
	case "ML":
		return Place{"AF", 14, -6}, true
	case "MM":
		return Place{"AS", 19.5, 96}, true
	case "MN":
		return Place{"AS", 47.9, 106.9}, true
	case "MO":
		return Place{"AS", 22.2, 113.5}, true
	case "MP":
		return Place{"OC", 15.2, 145.7}, true
	case "MQ":
		return Place{"NA", 14.6, -61}, true
	case "MR":
		return Place{"AF", 19, -12}, true
	case "MS":
		return Place{"NA", 16.7, -62.2}, true
	case "MT":
		return Place{"EU", 35.9, 14.4}, true
	case "MU":
		return Place{"AF", -20.3, 57.6}, true
	case "MV":
		return Place{"AS", 4.2, 73.5}, true
	case "MW":
		return Place{"AF", -13.5, 34}, true
	case "MX":
		return Place{"NA", 20.5, -100}, true
	case "MY":
		return Place{"AS", 3.5, 102.5}, true
	case "MZ":
		return Place{"AF", -19, 35}, true
	case "NA":
		return Place{"AF", -22.5, 17.5}, true
	case "NC":
		return Place{"OC", -21.5, 165.5}, true
	case "NE":
		return Place{"AF", 14, 7}, true
	case "NF":
		return Place{"OC", -29, 168}, true
	case "NG":
		return Place{"AF", 8.5, 7.5}, true
	case "NI":
		return Place{"NA", 12.5, -85.5}, true
	case "NL":
		return Place{"EU", 52.2, 5.3}, true
	case "NO":
		return Place{"EU", 60.5, 9}, true
	case "NP":
		return Place{"AS", 28, 84.5}, true
	case "NR":
		return Place{"OC", -0.5, 166.9}, true
	case "NU":
		return Place{"OC", -19, -169.9}, true
	case "NZ":
		return Place{"OC", -39, 175.5}, true
	case "OM":
		return Place{"AS", 22, 57.5}, true
	case "PA":
		return Place{"NA", 8.8, -80}, true
	case "PE":
		return Place{"SA", -10, -76}, true
	case "PF":
		return Place{"OC", -17.6, -149.5}, true
	case "PG":
		return Place{"OC", -6.5, 145}, true
	case "PH":
		return Place{"AS", 13, 122}, true
	case "PK":
		return Place{"AS", 30.5, 71}, true
	case "PL":
		return Place{"EU", 52, 19.5}, true
	case "PM":
		return Place{"NA", 46.9, -56.3}, true
	case "PN":
		return Place{"OC", -24.4, -128.3}, true
	case "PR":
		return Place{"NA", 18.2, -66.5}, true
	case "PS":
		return Place{"AS", 31.9, 35.2}, true
	case "PT":
		return Place{"EU", 39.6, -8.2}, true
	case "PW":
		return Place{"OC", 7.5, 134.6}, true
	case "PY":
		return Place{"SA", -24.5, -57}, true
	case "QA":
		return Place{"AS", 25.3, 51.2}, true
	case "RE":
		return Place{"AF", -21.1, 55.5}, true
	case "RO":
		return Place{"EU", 45.8, 25}, true
	case "RS":
		return Place{"EU", 44, 20.9}, true
	case "RU":
		return Place{"EU", 55.7, 44}, true
	case "RW":
		return Place{"AF", -2, 29.9}, true
	case "SA":
		return Place{"AS", 24, 45}, true
	case "SB":
		return Place{"OC", -9.5, 160}, true
	case "SC":
		return Place{"AF", -4.7, 55.5}, true
	case "SD":
		return Place{"AF", 15, 32}, true
	case "SE":
		return Place{"EU", 59.5, 16}, true
	case "SG":
		return Place{"AS", 1.4, 103.8}, true
	case "SH":
		return Place{"AF", -15.9, -5.7}, true
	case "SI":
		return Place{"EU", 46.1, 14.8}, true
	case "SJ":
		return Place{"EU", 78.2, 15.6}, true
	case "SK":
		return Place{"EU", 48.7, 19.5}, true
	case "SL":
		return Place{"AF", 8.5, -11.8}, true
	case "SM":
		return Place{"EU", 43.9, 12.5}, true
	case "SN":
		return Place{"AF", 14.5, -15}, true
	case "SO":
		return Place{"AF", 5, 46}, true
	case "SR":
		return Place{"SA", 4.5, -55.8}, true
	case "SS":
		return Place{"AF", 7, 30.5}, true
	case "ST":
		return Place{"AF", 0.3, 6.6}, true
	case "SV":
		return Place{"NA", 13.7, -88.9}, true
	case "SX":
		return Place{"NA", 18, -63.1}, true
	case "SY":
		return Place{"AS", 35, 38}, true
	case "SZ":
		return Place{"AF", -26.5, 31.5}, true
	case "TC":
		return Place{"NA", 21.7, -71.8}, true
	case "TD":
		return Place{"AF", 12, 17}, true
	case "TF":
		return Place{"AN", -49.3, 69.3}, true
	case "TG":
		return Place{"AF", 8, 1}, true
	case "TH":
		return Place{"AS", 15, 101}, true
	case "TJ":
		return Place{"AS", 38.8, 70.5}, true
	case "TK":
		return Place{"OC", -9.2, -171.8}, true
	case "TL":
		return Place{"AS", -8.8, 125.9}, true
	case "TM":
		return Place{"AS", 38.5, 58.5}, true
	case "TN":
		return Place{"AF", 35.5, 9.8}, true
	case "TO":
		return Place{"OC", -21.2, -175.2}, true
	case "TR":
		return Place{"AS", 39.5, 32}, true
	case "TT":
		return Place{"NA", 10.5, -61.3}, true
	case "TV":
		return Place{"OC", -8.5, 179.2}, true
	case "TW":
		return Place{"AS", 24, 121}, true
	case "TZ":
		return Place{"AF", -6.3, 35}, true
	case "UA":
		return Place{"EU", 49, 31.5}, true
	case "UG":
		return Place{"AF", 1, 32.4}, true
	case "UM":
		return Place{"OC", 19.3, 166.6}, true
	case "US":
		return Place{"NA", 38, -92}, true
	case "UY":
		return Place{"SA", -33.5, -56}, true
	case "UZ":
		return Place{"AS", 41, 65}, true
	case "VA":
		return Place{"EU", 41.9, 12.5}, true
	case "VC":
		return Place{"NA", 13.2, -61.2}, true
	case "VE":
		return Place{"SA", 9, -67}, true
	case "VG":
		return Place{"NA", 18.4, -64.6}, true
	case "VI":
		return Place{"NA", 18.3, -64.9}, true
	case "VN":
		return Place{"AS", 16, 107}, true
	case "VU":
		return Place{"OC", -16, 167}, true
	case "WF":
		return Place{"OC", -13.8, -177.2}, true
	case "WS":
		return Place{"OC", -13.8, -172.1}, true
	case "XK":
		return Place{"EU", 42.6, 20.9}, true
	case "YE":
		return Place{"AS", 15.5, 47.5}, true
	case "YT":
		return Place{"AF", -12.8, 45.2}, true
	case "ZA":
		return Place{"AF", -28, 26}, true
	case "ZM":
		return Place{"AF", -14, 28}, true
	case "ZW":
		return Place{"AF", -19, 30}, true
	}
	return Place{}, false
}
