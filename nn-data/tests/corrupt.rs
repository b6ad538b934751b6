//! Corrupt inputs, each its own test with a check of the message: every one an error, no panic.

mod common;

use common::{gzip, idx_images, idx_labels, small_set, write};
use nn_data::{DataError, Dataset, Mnist};

fn load_err(dir: &std::path::Path) -> String {
    Mnist::load(dir).unwrap_err().to_string()
}

#[test]
fn small_sets_load_plain_and_gzipped_and_under_dotted_names() {
    for gz in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        small_set(dir.path(), 7, gz);
        let m = Mnist::load(dir.path()).unwrap();
        assert_eq!((m.train.len(), m.test.len()), (7, 4));
        assert_eq!(
            m.train.image(1).unwrap(),
            &(12..24).map(|v| v as u8).collect::<Vec<_>>()[..]
        );
    }
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 5, false);
    for (std_name, dotted) in [
        ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
        ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
    ] {
        std::fs::rename(dir.path().join(std_name), dir.path().join(dotted)).unwrap();
    }
    assert_eq!(Mnist::load(dir.path()).unwrap().train.len(), 5);
}

#[test]
fn missing_folder_says_how_to_get_the_data() {
    let msg = load_err(std::path::Path::new("/no/such/folder"));
    assert!(
        msg.contains("/no/such/folder") && msg.contains("does not exist") && msg.contains("--data"),
        "{msg}"
    );
}

#[test]
fn missing_file_names_the_names_tried() {
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 5, false);
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
    let msg = load_err(dir.path());
    assert!(
        msg.contains("no test labels file")
            && msg.contains("t10k-labels-idx1-ubyte.gz")
            && msg.contains("t10k-labels.idx1-ubyte"),
        "{msg}"
    );
}

#[test]
fn wrong_magic_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 5, false);
    // Swap: a label file where the images should be.
    write(
        dir.path(),
        "train-images-idx3-ubyte",
        &idx_labels(&[1, 2, 3, 4, 5]),
    );
    let msg = load_err(dir.path());
    assert!(
        msg.contains("train-images-idx3-ubyte") && msg.contains("wrong magic number 0x00000801"),
        "{msg}"
    );
}

#[test]
fn image_label_count_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 5, false);
    write(
        dir.path(),
        "train-labels-idx1-ubyte",
        &idx_labels(&[1, 2, 3, 4]),
    );
    let msg = load_err(dir.path());
    assert!(
        msg.contains("holds 5 images") && msg.contains("holds 4 labels"),
        "{msg}"
    );
}

#[test]
fn truncated_file() {
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 5, false);
    let full = idx_images(5, 4, 3, &[0; 60]);
    write(dir.path(), "train-images-idx3-ubyte", &full[..50]);
    let msg = load_err(dir.path());
    assert!(
        msg.contains("promises 76 bytes") && msg.contains("has 50") && msg.contains("truncated"),
        "{msg}"
    );
}

#[test]
fn header_claiming_four_billion_images() {
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 5, false);
    write(
        dir.path(),
        "train-images-idx3-ubyte",
        &idx_images(u32::MAX, 28, 28, &[0; 100]),
    );
    let err = Mnist::load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::WrongLength { .. }), "{err}");
    assert!(
        err.to_string().contains("4294967295 images of 28 x 28"),
        "{err}"
    );
}

#[test]
fn garbage_gzip() {
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 5, true);
    let mut bad = gzip(&idx_labels(&[1, 2, 3, 4, 5]));
    let mid = bad.len() / 2;
    for b in &mut bad[10..mid] {
        *b ^= 0x5a;
    }
    write(dir.path(), "train-labels-idx1-ubyte.gz", &bad);
    let msg = load_err(dir.path());
    assert!(
        msg.contains("train-labels-idx1-ubyte.gz") && msg.contains("not a valid gzip file"),
        "{msg}"
    );
}

#[test]
fn label_ten() {
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 5, false);
    write(
        dir.path(),
        "t10k-labels-idx1-ubyte",
        &idx_labels(&[0, 9, 10]),
    );
    let msg = load_err(dir.path());
    assert!(
        msg.contains("label 10 at index 2 is outside 0..=9"),
        "{msg}"
    );
}

#[test]
fn trailing_bytes_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 5, false);
    let mut long = idx_labels(&[1, 2, 3, 4, 5]);
    long.push(0);
    write(dir.path(), "train-labels-idx1-ubyte", &long);
    assert!(load_err(dir.path()).contains("trailing bytes"));
    write(dir.path(), "train-labels-idx1-ubyte", &[]);
    assert!(load_err(dir.path()).contains("wrong magic number"));
}

#[test]
fn dataset_arguments_are_checked() {
    assert!(Dataset::new(vec![0; 5], vec![1], 2, 2).is_err());
    assert!(Dataset::new(vec![0; 4], vec![11], 2, 2).is_err());
    let d = Dataset::new(vec![0; 8], vec![1, 2], 2, 2).unwrap();
    assert!(d.clone().split(3).is_err());
    assert!(d.batch(&[2], nn_data::Normalization::Unit).is_err());
    assert!(
        d.batch(
            &[0],
            nn_data::Normalization::Standardize {
                mean: 0.1,
                std: 0.0
            }
        )
        .is_err()
    );
    assert!(nn_data::DataLoader::new(&d, 0).is_err());
}

#[test]
fn a_gzip_file_of_several_members_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 7, false);
    let bytes = idx_images(7, 4, 3, &(0..7 * 12).map(|v| v as u8).collect::<Vec<_>>());
    // `cat a.gz b.gz`: a valid gzip file of both parts (RFC 1952).
    let (head, tail) = bytes.split_at(30);
    let mut two = gzip(head);
    two.extend(gzip(tail));
    std::fs::remove_file(dir.path().join("train-images-idx3-ubyte")).unwrap();
    write(dir.path(), "train-images-idx3-ubyte.gz", &two);
    let m = Mnist::load(dir.path()).unwrap();
    assert_eq!(m.train.image(6).unwrap(), &bytes[16 + 6 * 12..]);
}

#[test]
fn test_images_of_another_size_than_the_training_images_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 4, false);
    write(
        dir.path(),
        "t10k-images-idx3-ubyte",
        &idx_images(3, 5, 3, &[0; 45]),
    );
    write(
        dir.path(),
        "t10k-labels-idx1-ubyte",
        &idx_labels(&[1, 2, 3]),
    );
    let msg = load_err(dir.path());
    assert!(
        msg.contains("t10k-images-idx3-ubyte")
            && msg.contains("5x3")
            && msg.contains("train-images-idx3-ubyte")
            && msg.contains("4x3"),
        "{msg}"
    );
}

#[test]
fn one_split_loads_without_the_other_files() {
    use nn_data::{Split, SplitFiles};
    let dir = tempfile::tempdir().unwrap();
    small_set(dir.path(), 6, true);
    std::fs::remove_file(dir.path().join("train-images-idx3-ubyte.gz")).unwrap();
    // A damaged training file is never read when only the test set is asked for.
    write(dir.path(), "train-labels-idx1-ubyte.gz", b"\x1f\x8bgarbage");
    let test = SplitFiles::find(dir.path(), Split::Test)
        .unwrap()
        .load()
        .unwrap();
    assert_eq!(test.len(), 4);
    assert!(SplitFiles::find(dir.path(), Split::Train).is_err());
}

#[test]
fn sizes_that_overflow_and_non_finite_normalisation_are_errors() {
    use nn_data::{DataLoader, Normalization};
    assert!(Dataset::new(vec![], vec![3], 1 << 32, 1 << 32).is_err());
    assert!(Dataset::new(vec![0; 4], vec![3], usize::MAX, 2).is_err());
    let d = Dataset::new(vec![0; 8], vec![1, 2], 2, 2).unwrap();
    for bad in [
        Normalization::Standardize {
            mean: f32::NAN,
            std: 0.3,
        },
        Normalization::Standardize {
            mean: f32::INFINITY,
            std: 0.3,
        },
        Normalization::Standardize {
            mean: 0.1,
            std: 0.0,
        },
        Normalization::Standardize {
            mean: 0.1,
            std: f32::NAN,
        },
    ] {
        assert!(d.batch(&[0], bad).is_err(), "{bad:?}");
        assert!(
            DataLoader::new(&d, 1).unwrap().normalization(bad).is_err(),
            "{bad:?}"
        );
    }
}
