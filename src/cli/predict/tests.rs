//! Unit tests of `scanflow predict`: model.json checks, image listing, the CSV, and the
//! whole pipeline with a stand-in classifier (tests/predict.rs runs it on a trained model).

use std::fs;
use std::path::Path;

use candle_core::{Device, Tensor};

use super::images::NewImages;
use super::model::ModelInfo;
use super::output::{header, line};
use super::{parse_size, predict_with, InputSizes, PredictError};

fn write_model(run: &Path, producer: &str, weights: bool, architecture: &str) {
    fs::create_dir_all(run).unwrap();
    let path = run.join("model.safetensors");
    if weights {
        fs::write(&path, b"x").unwrap();
    } else {
        let _ = fs::remove_file(&path);
    }
    let json = format!(
        r#"{{"weights": "{}", "architecture": {architecture}, "producer": "{producer}"}}"#,
        path.display()
    );
    fs::write(run.join("model.json"), json).unwrap();
}

#[test]
fn model_json_is_checked_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("runs/g/node");
    let err = ModelInfo::load(&run).unwrap_err();
    assert!(err.to_string().ends_with(
        "has no model.json: --run takes the run folder of a node that trained a cluster model, \
         runs/<graph>/<node> (a node of kind Scan or SelfLabel)"
    ));
    write_model(&run, "SimClr", true, r#"{"encoder": "SmallCnn"}"#);
    let err = ModelInfo::load(&run).unwrap_err().to_string();
    assert!(err.ends_with("holds a SimClr model, not a cluster model: predict needs the run folder of a node of kind Scan or SelfLabel"), "{err}");
    write_model(&run, "Scan", false, r#"{"input_size": [32, 32]}"#);
    assert!(matches!(
        ModelInfo::load(&run),
        Err(PredictError::WeightsMissing { .. })
    ));
    write_model(&run, "Scan", true, r#"{"heads": 1}"#);
    assert!(matches!(
        ModelInfo::load(&run),
        Err(PredictError::NoInputSize { .. })
    ));
    write_model(&run, "Scan", true, r#"{"input_size": [48, 32]}"#);
    // model.json says [height, width], as ClusterArchitecture records it.
    assert_eq!(ModelInfo::load(&run).unwrap().input_size, (32, 48));
    fs::write(run.join("model.json"), "{").unwrap();
    assert!(matches!(
        ModelInfo::load(&run),
        Err(PredictError::BadModelFile { .. })
    ));
}

/// A `w`×`h` PNG filled with one colour.
fn png(path: &Path, w: u32, h: u32, rgb: [u8; 3]) {
    image::RgbImage::from_pixel(w, h, image::Rgb(rgb))
        .save(path)
        .unwrap();
}

/// Stand-in classifier: cluster 1 (p 0.75) when the red channel is above the CIFAR mean
/// after normalisation, else cluster 0 (p 0.75); checks the input's shape.
fn by_red(x: &Tensor) -> Result<Tensor, PredictError> {
    let (b, h, w, c) = x.dims4()?;
    assert_eq!((h, w, c), (8, 16, 3));
    let red: Vec<f32> = x.narrow(3, 0, 1)?.flatten_from(1)?.max(1)?.to_vec1()?;
    let rows: Vec<f32> = red
        .iter()
        .flat_map(|&r| if r > 0.0 { [0.25, 0.75] } else { [0.75, 0.25] })
        .collect();
    Ok(Tensor::from_vec(rows, (b, 2), &Device::Cpu)?)
}

/// The 16×8 model input of `by_red`, from images scaled to `source` (or to 16×8).
fn sizes(source: Option<(u32, u32)>) -> InputSizes {
    InputSizes::new(source, (16, 8)).unwrap()
}

#[test]
fn a_source_size_crops_the_model_input_from_the_scaled_image() {
    // A 32×16 image, red only outside its central 16×8: scaled whole to 16×8 the red
    // border stays (cluster 1); scaled to 32×16 and centre-cropped it is gone (cluster 0).
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("new");
    fs::create_dir_all(&folder).unwrap();
    let framed = image::RgbImage::from_fn(32, 16, |x, y| {
        let inside = (8..24).contains(&x) && (4..12).contains(&y);
        image::Rgb(if inside { [5, 10, 10] } else { [250, 10, 10] })
    });
    framed.save(folder.join("framed.png")).unwrap();
    let images = NewImages::open(&folder).unwrap();
    let cluster = |source| {
        let out = dir.path().join("p.csv");
        predict_with(&images, sizes(source), 1, &out, &Device::Cpu, by_red).unwrap();
        let csv = fs::read_to_string(&out).unwrap();
        csv.lines()
            .nth(1)
            .unwrap()
            .split(',')
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(cluster(None), "1");
    assert_eq!(cluster(Some((32, 16))), "0");
    let err = InputSizes::new(Some((12, 8)), (16, 8))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--source-size 12x8") && err.contains("16x8"),
        "{err}"
    );
}

#[test]
fn source_sizes_parse_as_width_by_height() {
    assert_eq!(parse_size("32x24"), Ok((32, 24)));
    assert_eq!(parse_size("40X40"), Ok((40, 40)));
    for bad in ["32", "0x32", "x", "32x-1", "axb"] {
        let err = parse_size(bad).unwrap_err();
        assert!(err.contains(bad) && err.contains("WIDTHxHEIGHT"), "{err}");
    }
}

#[test]
fn flat_folder_to_csv_with_any_image_size() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("new");
    fs::create_dir_all(&folder).unwrap();
    png(&folder.join("b.png"), 40, 20, [250, 10, 10]);
    png(&folder.join("a.png"), 16, 8, [5, 10, 10]);
    png(&folder.join("c.PNG"), 7, 9, [5, 10, 10]);
    fs::write(folder.join("notes.txt"), "not an image").unwrap();
    let images = NewImages::open(&folder).unwrap();
    assert_eq!(images.len(), 3);
    let out = dir.path().join("out/predictions.csv");
    let rows = predict_with(&images, sizes(None), 2, &out, &Device::Cpu, by_red).unwrap();
    assert_eq!(rows, 3);
    let f = |name: &str| folder.join(name).display().to_string();
    let expected = format!(
        "file,cluster,confidence,p0,p1\n\
         {},0,0.750000,0.750000,0.250000\n\
         {},1,0.750000,0.250000,0.750000\n\
         {},0,0.750000,0.750000,0.250000\n",
        f("a.png"),
        f("b.png"),
        f("c.PNG")
    );
    assert_eq!(fs::read_to_string(&out).unwrap(), expected);
}

#[test]
fn unreadable_image_is_named_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    png(&dir.path().join("good.png"), 4, 4, [1, 2, 3]);
    fs::write(dir.path().join("broken.jpg"), b"not a jpeg").unwrap();
    let images = NewImages::open(dir.path()).unwrap();
    let out = dir.path().join("p.csv");
    let err = predict_with(&images, sizes(None), 8, &out, &Device::Cpu, by_red).unwrap_err();
    assert!(err.to_string().contains("broken.jpg"), "{err}");
    assert!(!out.exists());
}

#[test]
fn folders_without_images_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("empty/sub")).unwrap();
    let err = NewImages::open(&dir.path().join("empty")).err().unwrap();
    assert!(
        matches!(err, PredictError::NoImages { .. } | PredictError::Data(_)),
        "{err}"
    );
    let missing = dir.path().join("missing");
    let err = NewImages::open(&missing).err().unwrap().to_string();
    assert!(err.contains(&missing.display().to_string()), "{err}");
}

#[test]
fn csv_header_and_lines() {
    assert_eq!(header(3), "file,cluster,confidence,p0,p1,p2\n");
    // Ties go to the lowest cluster id; names with commas are quoted.
    assert_eq!(
        line("x,y.jpg", &[0.4, 0.4, 0.2]),
        "\"x,y.jpg\",0,0.400000,0.400000,0.400000,0.200000\n"
    );
}
