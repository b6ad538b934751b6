//! Deserialisation with bounded lengths, for the framework's file formats.
//!
//! A file anyone can write may claim a list of millions of entries that take a few bytes each
//! to encode and many more to hold (a `LayerSpec` of one byte is 80 bytes in memory). Every list
//! in a model file, checkpoint or network spec is therefore decoded through [`vec_at_most`],
//! which refuses more than a stated number of entries before holding them and never reserves
//! room for more: such a list costs at most a fixed amount (65 536 empty tensors, 4.7 MB),
//! whatever the file claims.

use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, Error, SeqAccess, Visitor};

/// The most layers a [`crate::NetworkSpec`] holds when read from a file.
pub const MAX_LAYERS: usize = 4096;
/// The most named tensors (parameters, buffers, optimizer slots, counters, generator positions)
/// a file holds.
pub const MAX_TENSORS: usize = 1 << 16;
/// The most dimensions a stored shape has.
pub const MAX_RANK: usize = 8;

/// Deserialises a `Vec<T>` of at most `MAX` elements: use it as
/// `#[serde(deserialize_with = "nn_layers::bounded_serde::vec_at_most::<MAX, _, _>")]`.
///
/// # Errors
/// A sequence longer than `MAX` (refused from its declared length where the format gives one,
/// else at element `MAX + 1`), or an element's own error.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Shape {
///     #[serde(deserialize_with = "nn_layers::bounded_serde::vec_at_most::<4, _, _>")]
///     dims: Vec<usize>,
/// }
/// assert!(serde_json::from_str::<Shape>(r#"{"dims": [1, 2, 3]}"#).is_ok());
/// assert!(serde_json::from_str::<Shape>(r#"{"dims": [1, 2, 3, 4, 5]}"#).is_err());
/// ```
pub fn vec_at_most<'de, const MAX: usize, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_seq(AtMost::<MAX, T>(PhantomData))
}

struct AtMost<const MAX: usize, T>(PhantomData<T>);

impl<'de, const MAX: usize, T: Deserialize<'de>> Visitor<'de> for AtMost<MAX, T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a list of at most {MAX} entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        if let Some(n) = seq.size_hint().filter(|&n| n > MAX) {
            return Err(A::Error::invalid_length(n, &self));
        }
        // Reserve no more than a page's worth up front: the declared length is not trusted.
        let reserve = seq
            .size_hint()
            .unwrap_or(0)
            .min(4096 / size_of::<T>().max(1));
        let mut values: Vec<T> = Vec::with_capacity(reserve);
        while let Some(v) = seq.next_element()? {
            if values.len() == MAX {
                return Err(A::Error::invalid_length(MAX + 1, &self));
            }
            if values.len() == values.capacity() {
                // Doubling, but never past MAX: the list's memory stays within MAX entries.
                let grow = values.capacity().max(4).min(MAX - values.len());
                values.reserve_exact(grow);
            }
            values.push(v);
        }
        Ok(values)
    }
}
