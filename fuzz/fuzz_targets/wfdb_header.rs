//! Fuzzes the WFDB header parser (`mimic_io::wfdb::parse_header`) on arbitrary UTF-8.
//!
//! A `.hea` file is text from a 800k-file download: a corrupt or hand-edited
//! header must give a `WfdbError`, never a panic. Beyond "no panic" the target
//! checks the invariants callers rely on: one `SignalSpec` per declared signal,
//! `sig_len == 0` whenever the header omits it, a gain that is never 0 (the
//! reader maps 0 to 200, so physical values never divide by zero), and an error
//! message that formats.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mimic_io::wfdb::parse_header;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_header(text, Path::new("fuzz.hea")) {
        Ok(h) => {
            assert_eq!(h.signals.len(), h.n_sig, "one signal spec per declared signal");
            if !h.sig_len_given {
                assert_eq!(h.sig_len, 0, "an omitted signal length is 0 until the .dat is read");
            }
            for s in &h.signals {
                assert!(s.adc_gain != 0.0, "gain 0 must become 200");
                assert!(!s.file_name.is_empty() && !s.file_name.contains('/'), "file names stay plain");
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("fuzz.hea"), "errors name the header: {msg}");
        }
    }
});
